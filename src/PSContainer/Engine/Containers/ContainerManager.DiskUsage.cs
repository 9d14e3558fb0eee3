using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Containers;

/// <summary>One line of docker system df: what a kind of object takes on disk and what removing the unused would free.</summary>
public sealed class ContainerDiskUsage
{
    /// <summary>Images, Containers or Volumes.</summary>
    public string Type { get; init; } = "";
    public int TotalCount { get; init; }
    /// <summary>Images a container uses; containers that run; volumes a container (running or not) uses.</summary>
    public int Active { get; init; }
    public long Size { get; init; }
    /// <summary>
    /// What removing the inactive ones would free: unused images' content no used image shares, stopped containers'
    /// upper directories, the data of volumes no container uses (Remove-ContainerVolume -Unused).
    /// </summary>
    public long Reclaimable { get; init; }
    public double ReclaimablePercent => Size > 0 ? Reclaimable * 100.0 / Size : 0;
}

/// <summary>docker system df.</summary>
public sealed partial class ContainerManager
{
    /// <summary>
    /// Disk use of images (blobs and unpacked layers, each shared layer counted once) and containers (their upper
    /// directories) and volumes (their data), with what removing unused images, stopped containers and unused volumes
    /// would free.
    /// </summary>
    public IReadOnlyList<ContainerDiskUsage> DiskUsage()
    {
        var allImages = images.List();
        var inUse = store.ImageIdsInUse();
        var layerSize = new Dictionary<string, long>(StringComparer.Ordinal);
        var ownSize = new Dictionary<string, long>(StringComparer.Ordinal);
        var layersOf = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var image in allImages)
        {
            var chains = new List<string>();
            foreach (var layer in images.LayersOf(image.Id))
            {
                string chain = layer.ChainId.ToString();
                chains.Add(chain);
                if (!layerSize.ContainsKey(chain))
                    layerSize[chain] = DirectorySize(images.Layers.DiffOf(layer.ChainId)) + BlobSize(layer.BlobDigest);
            }
            layersOf[image.Id] = chains;
            ownSize[image.Id] = BlobSize(Digest.Parse(image.Id)) + BlobSize(Digest.Parse(image.ManifestDigest));
        }
        long imagesTotal = layerSize.Values.Sum() + ownSize.Values.Sum();
        var usedLayers = allImages.Where(i => inUse.Contains(i.Id)).SelectMany(i => layersOf[i.Id]).ToHashSet(StringComparer.Ordinal);
        long imagesUsed = usedLayers.Sum(l => layerSize[l]) + allImages.Where(i => inUse.Contains(i.Id)).Sum(i => ownSize[i.Id]);

        var containers = List();
        long containersTotal = 0, containersReclaimable = 0;
        foreach (var c in containers)
        {
            long size = DirectorySize(UpperDir(c.Id));
            containersTotal += size;
            if (c.State is not (ContainerState.Running or ContainerState.Paused)) containersReclaimable += size;
        }
        return
        [
            new ContainerDiskUsage
            {
                Type = "Images", TotalCount = allImages.Count, Active = allImages.Count(i => inUse.Contains(i.Id)),
                Size = imagesTotal, Reclaimable = imagesTotal - imagesUsed,
            },
            new ContainerDiskUsage
            {
                Type = "Containers", TotalCount = containers.Count,
                Active = containers.Count(c => c.State is ContainerState.Running or ContainerState.Paused),
                Size = containersTotal, Reclaimable = containersReclaimable,
            },
            VolumeDiskUsage(),
        ];
    }

    private long BlobSize(Digest digest) => images.Blobs.Has(digest) ? images.Blobs.SizeOf(digest) : 0;

    /// <summary>Bytes of the regular files under a directory; symlinks are not followed, a missing directory is 0.</summary>
    public static long DirectorySize(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", options))
        {
            try
            {
                if (file.LinkTarget is null) total += file.Length;
            }
            catch (IOException)
            {
                // Gone while we counted.
            }
        }
        return total;
    }
}
