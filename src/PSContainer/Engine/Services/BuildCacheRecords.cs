using PSContainer.Engine.Build;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Services;

/// <summary>
/// One record of docker system df -v's build cache: a step's cached result (Type regular) or a RUN cache mount
/// (exec.cachemount). The cache does not count its hits, so <see cref="UsageCount"/> is 0 and <see cref="LastUsedAt"/>
/// null (docker prints an empty LAST USED for that).
/// </summary>
public sealed record BuildCacheRecord(string Id, string Type, long Size, DateTime CreatedAt, DateTime? LastUsedAt, int UsageCount,
    bool InUse, bool Shared, string Description);

/// <summary>The build cache as docker system df shows it: its records and the bytes it takes (BuilderSize).</summary>
public sealed record BuildCacheReport(IReadOnlyList<BuildCacheRecord> Records, long BuilderSize);

/// <summary>Reads the build cache (Engine/Build) through its own API, read-only, for docker system df.</summary>
public static class BuildCacheRecords
{
    public static BuildCacheReport Read(ContainerEngine engine)
    {
        var cache = new BuildCache(engine.Paths);
        var images = engine.Images.List().ToDictionary(i => i.Id, StringComparer.Ordinal);
        var inUse = engine.Images.ImagesInUse();
        // Who holds each layer: a step's layer another image (a tagged build result, another step) also holds is shared.
        var holders = images.Keys.SelectMany(id => engine.Images.LayersOf(id).Select(l => l.ChainId.ToString()).Distinct())
            .GroupBy(c => c, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var records = new List<BuildCacheRecord>();
        foreach (var (key, imageId) in cache.Entries())
        {
            // An entry whose image was removed is a miss for the next build: nothing of it is on disk.
            if (!images.TryGetValue(imageId, out var image)) continue;
            HistoryEntry? step = null;
            try
            {
                var config = OciJson.Parse<ImageConfigFile>(engine.Images.Blobs.ReadAll(Digest.Parse(image.Id)), "image config", image.Id);
                step = config.History is { Count: > 0 } h ? h[^1] : null;
            }
            catch (Exception e) when (e is IOException or EngineException)
            {
                // Removed meanwhile: listed without its description.
            }
            // A step made at most its image's top layer; ENV, LABEL and the like made none (empty_layer).
            long size = 0;
            bool shared = false;
            if (step is not { EmptyLayer: true } && engine.Images.LayersOf(image.Id) is { Count: > 0 } layers)
            {
                var top = layers[^1];
                size = top.BlobSize + ContainerManager.DirectorySize(engine.Images.Layers.DiffOf(top.ChainId));
                shared = holders.GetValueOrDefault(top.ChainId.ToString()) > 1;
            }
            records.Add(new BuildCacheRecord(key, "regular", size, image.Created ?? DateTime.UnixEpoch, null, 0,
                inUse.Contains(image.Id), shared, step?.CreatedBy ?? ""));
        }
        if (Directory.Exists(cache.Mounts))
        {
            foreach (var dir in new DirectoryInfo(cache.Mounts).EnumerateDirectories())
                records.Add(new BuildCacheRecord(dir.Name, "exec.cachemount", ContainerManager.DirectorySize(dir.FullName),
                    dir.CreationTimeUtc, dir.LastWriteTimeUtc, 0, false, false, "cached mount (RUN --mount=type=cache)"));
        }
        return new BuildCacheReport(records.OrderBy(r => r.CreatedAt).ToList(), BuildCacheMaintenance.Usage(engine).Size);
    }
}
