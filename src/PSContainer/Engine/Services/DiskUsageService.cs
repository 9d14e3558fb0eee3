using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Volumes;

namespace PSContainer.Engine.Services;

/// <summary>An image's part of docker system df: bytes it shares with other images and the containers made from it.</summary>
public sealed record ImageDiskUsage(ContainerImage Image, long SharedSize, int Containers);

/// <summary>A container's part: the bytes it wrote (its upper directory) and the image's under it.</summary>
public sealed record ContainerDiskUsageDetail(ContainerDetails Details, long SizeRw, long SizeRootFs);

/// <summary>A volume's part: its data and how many containers use it.</summary>
public sealed record VolumeDiskUsage(ContainerVolume Volume, long Size, int RefCount);

/// <summary>docker system df: the totals of Get-ContainerDiskUsage with the objects they are made of.</summary>
public sealed record DiskUsageReport(long LayersSize, IReadOnlyList<ImageDiskUsage> Images, IReadOnlyList<ContainerDiskUsageDetail> Containers, IReadOnlyList<VolumeDiskUsage> Volumes,
    BuildCacheReport BuildCache);

/// <summary>Per-object disk use for docker system df, measured the way <see cref="ContainerManager.DiskUsage"/> counts its totals.</summary>
public sealed class DiskUsageService
{
    private readonly ContainerEngine engine;
    private readonly ContainerService containers;

    public DiskUsageService(ContainerEngine engine, ContainerService containers)
    {
        this.engine = engine;
        this.containers = containers;
    }

    public DiskUsageReport Report()
    {
        var totals = containers.DiskUsageTotals();
        long layersSize = totals.First(t => t.Type == "Images").Size;

        var images = engine.Images.List();
        var layersOf = images.ToDictionary(i => i.Id, i => engine.Images.LayersOf(i.Id));
        // A layer (by chain id) held by more than one image is shared by each of them.
        var holders = layersOf.SelectMany(kv => kv.Value.Select(l => l.ChainId.ToString()).Distinct()).GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        var all = containers.ListDetails(new ContainerQuery { All = true });
        var perImage = all.GroupBy(d => d.Container.ImageId).ToDictionary(g => g.Key, g => g.Count());
        var imageUsage = images.Select(i => new ImageDiskUsage(i,
            // Measured as the image's Size is (unpacked layers), so that its unique size (Size - SharedSize) is never negative.
            layersOf[i.Id].Where(l => holders[l.ChainId.ToString()] > 1).Sum(l => engine.Images.LayerSize(l.ChainId) ?? l.BlobSize),
            perImage.GetValueOrDefault(i.Id))).ToList();

        var imageSize = images.ToDictionary(i => i.Id, i => i.Size);
        var containerUsage = all.Select(d =>
        {
            long rw = ContainerManager.DirectorySize(engine.Containers.UpperDir(d.Container.Id));
            return new ContainerDiskUsageDetail(d, rw, rw + imageSize.GetValueOrDefault(d.Container.ImageId));
        }).ToList();

        var volumeUsage = engine.Containers.Volumes.List(size: false).Select(v =>
        {
            long size = 0;
            try
            {
                // A bind volume (type=none) lends its device's directory: it takes nothing of ours, as in the totals.
                if (VolumeDriverOptions.Parse(v.Options, v.Name).Type != "none") size = VolumeManager.SizeOf(v.Mountpoint);
            }
            catch (IOException)
            {
                // Removed while it was measured.
            }
            return new VolumeDiskUsage(v, size, v.UsedBy.Length);
        }).ToList();
        return new DiskUsageReport(layersSize, imageUsage, containerUsage, volumeUsage, BuildCacheRecords.Read(engine));
    }
}
