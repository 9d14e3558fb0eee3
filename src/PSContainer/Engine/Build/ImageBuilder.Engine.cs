using PSContainer.Engine.Registry;

namespace PSContainer.Engine.Build;

// The builder of an engine's state root, and the build cache's share of disk usage and prune.
public sealed partial class ImageBuilder
{
    /// <summary>A builder over the engine's stores; FROM images it lacks are pulled from their registries.</summary>
    public static ImageBuilder For(ContainerEngine engine) =>
        new(engine.Containers, engine.Images, engine.Paths,
            (reference, platform, cancel) => new ImagePuller(engine.Images).Pull(reference, new PullOptions { Platform = platform }, null, cancel));
}

/// <summary>What the build cache holds and what pruning it freed (docker builder prune).</summary>
public sealed record BuildCacheUsage(int Entries, long Size);

/// <summary>
/// The build cache of a state root as disk usage sees it and as prune empties it: its entries name untagged images
/// (each step's result); their layers that no tagged image shares, plus the RUN cache mounts, are its size.
/// </summary>
public static class BuildCacheMaintenance
{
    public static BuildCacheUsage Usage(ContainerEngine engine)
    {
        var cache = new BuildCache(engine.Paths);
        var entries = cache.Entries();
        var all = engine.Images.List();
        var tagged = all.Where(i => i.RepoTags.Length > 0).SelectMany(i => engine.Images.LayersOf(i.Id)).Select(l => l.ChainId.ToString()).ToHashSet();
        var cachedIds = entries.Select(e => e.ImageId).ToHashSet();
        var own = all.Where(i => cachedIds.Contains(i.Id) && i.RepoTags.Length == 0)
            .SelectMany(i => engine.Images.LayersOf(i.Id)).Where(l => !tagged.Contains(l.ChainId.ToString()))
            .DistinctBy(l => l.ChainId.ToString()).ToList();
        long size = own.Sum(l => l.BlobSize + Containers.ContainerManager.DirectorySize(engine.Images.Layers.DiffOf(l.ChainId)));
        if (Directory.Exists(cache.Mounts)) size += Containers.ContainerManager.DirectorySize(cache.Mounts);
        return new BuildCacheUsage(entries.Count, size);
    }

    /// <summary>Forgets every entry, removes the untagged images they named that no container uses, and collects garbage.</summary>
    public static BuildCacheUsage Prune(ContainerEngine engine)
    {
        var before = Usage(engine);
        var cache = new BuildCache(engine.Paths);
        var inUse = engine.Images.ImagesInUse();
        foreach (var (_, id) in cache.Entries())
        {
            if (engine.Images.Find(id) is not { RepoTags.Length: 0 } image || inUse.Contains(image.Id)) continue;
            try
            {
                engine.Images.Remove(image.Id, force: false);
            }
            catch (EngineException)
            {
                // An image a later step's image or a container still needs stays; garbage collection keeps what it holds.
            }
        }
        cache.Clear();
        engine.Images.CollectGarbage();
        return before;
    }
}
