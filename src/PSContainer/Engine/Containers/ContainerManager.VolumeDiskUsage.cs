using PSContainer.Engine.Volumes;

namespace PSContainer.Engine.Containers;

/// <summary>docker system df's volumes line.</summary>
public sealed partial class ContainerManager
{
    /// <summary>
    /// Every volume's data counted once; the reclaimable part is what Remove-ContainerVolume -Unused would free: the
    /// volumes no container uses (a bind volume's device is lent, not owned, so it counts as nothing, as in the prune).
    /// </summary>
    private ContainerDiskUsage VolumeDiskUsage()
    {
        var all = Volumes.List(size: false);
        long total = 0, reclaimable = 0;
        foreach (var v in all)
        {
            long size = 0;
            try
            {
                if (VolumeDriverOptions.Parse(v.Options, v.Name).Type != "none") size = VolumeManager.SizeOf(v.Mountpoint);
            }
            catch (IOException)
            {
                // Removed by another session while we counted: it takes nothing now.
            }
            total += size;
            if (v.UsedBy.Length == 0) reclaimable += size;
        }
        return new ContainerDiskUsage
        {
            Type = "Volumes", TotalCount = all.Count, Active = all.Count(v => v.UsedBy.Length > 0),
            Size = total, Reclaimable = reclaimable,
        };
    }
}
