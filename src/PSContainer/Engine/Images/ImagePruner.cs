using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Images;

/// <summary>docker image prune: which images can go, and what their removal freed.</summary>
public static class ImagePruner
{
    /// <summary>
    /// Images no container uses (whatever its state, as docker's image prune -a): all of them, or with
    /// <paramref name="danglingOnly"/> only those without a tag (docker image prune).
    /// </summary>
    public static IReadOnlyList<ContainerImage> Candidates(ImageStore store, bool danglingOnly)
    {
        var inUse = store.ImagesInUse();
        return store.List().Where(i => !inUse.Contains(i.Id) && (!danglingOnly || i.RepoTags.Length == 0)).ToList();
    }

    /// <summary>Bytes of the store's content (blobs and unpacked layers): compared before and after a prune.</summary>
    public static long ContentSize(ImageStore store) =>
        ContainerManager.DirectorySize(store.Paths.Blobs) + ContainerManager.DirectorySize(store.Paths.Layers);
}
