using PSContainer.Engine.Build;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Services;

/// <summary>
/// One record of docker system df -v's build cache: a step's cached result (Type regular) or a RUN cache mount
/// (exec.cachemount). <see cref="UsageCount"/> counts the builds that took the step from the cache and
/// <see cref="LastUsedAt"/> is the last of them (null while none has: docker prints an empty LAST USED for that).
/// </summary>
public sealed record BuildCacheRecord(string Id, string Type, long Size, DateTime CreatedAt, DateTime? LastUsedAt, int UsageCount,
    bool InUse, bool Shared, string Description);

/// <summary>The build cache as docker system df shows it: its records and the bytes they take (BuilderSize).</summary>
public sealed record BuildCacheReport(IReadOnlyList<BuildCacheRecord> Records, long BuilderSize);

/// <summary>Reads the build cache (Engine/Build) through its own API, read-only, for docker system df.</summary>
public static class BuildCacheRecords
{
    public static BuildCacheReport Read(ContainerEngine engine)
    {
        var cache = new BuildCache(engine.Paths);
        var images = engine.Images.List().ToDictionary(i => i.Id, StringComparer.Ordinal);
        var inUse = engine.Images.ImagesInUse();
        var entries = cache.Entries();
        var cachedIds = entries.Select(e => e.ImageId).ToHashSet(StringComparer.Ordinal);
        // Keys naming one image (a last step and the build's final entry) are one record: their uses add up.
        var usage = entries.GroupBy(e => e.ImageId, StringComparer.Ordinal).ToDictionary(g => g.Key, g =>
        {
            var uses = g.Select(e => cache.Usage(e.Key)).ToList();
            return (Count: uses.Sum(u => u.Count), LastUsed: uses.Max(u => u.LastUsed));
        }, StringComparer.Ordinal);
        // A step's layer is shared when an image outside the cache holds it too (a tagged build result, a pulled
        // image): pruning the cache would not free it. Later steps' images holding it do not count.
        var heldOutside = images.Values.Where(i => !cachedIds.Contains(i.Id) || i.RepoTags.Length > 0)
            .SelectMany(i => engine.Images.LayersOf(i.Id)).Select(l => l.ChainId.ToString()).ToHashSet(StringComparer.Ordinal);
        var records = new List<BuildCacheRecord>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, imageId) in entries)
        {
            // An entry whose image was removed is a miss for the next build: nothing of it is on disk. A build's
            // final entry names the image of its last step when no config-only step (ENV, LABEL...) followed: one record.
            if (!images.TryGetValue(imageId, out var image) || !listed.Add(imageId)) continue;
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
                shared = heldOutside.Contains(top.ChainId.ToString());
            }
            var (uses, lastUsed) = usage[imageId];
            records.Add(new BuildCacheRecord(key, "regular", size, image.Created ?? DateTime.UnixEpoch, lastUsed, uses,
                inUse.Contains(image.Id), shared, step?.CreatedBy ?? ""));
        }
        if (Directory.Exists(cache.Mounts))
        {
            foreach (var dir in new DirectoryInfo(cache.Mounts).EnumerateDirectories())
                records.Add(new BuildCacheRecord(dir.Name, "exec.cachemount", ContainerManager.DirectorySize(dir.FullName),
                    dir.CreationTimeUtc, dir.LastWriteTimeUtc, 0, false, false, "cached mount (RUN --mount=type=cache)"));
        }
        // dockerd's BuilderSize is the sum of its records, shared ones included; the docker CLI subtracts what is in
        // use and not shared to show what a prune would free. (Get-ContainerDiskUsage's BuildCache row counts only
        // what no tagged image holds.)
        return new BuildCacheReport(records.OrderBy(r => r.CreatedAt).ToList(), records.Sum(r => r.Size));
    }
}
