namespace PSContainer.Engine.Volumes;

/// <summary>What Remove-ContainerVolume -Unused removed (docker volume prune's "Deleted Volumes") and the bytes it freed.</summary>
public sealed record VolumePruneResult(string[] VolumesDeleted, long SpaceReclaimed);

/// <summary>
/// docker volume prune (as docker 20.10: every local volume no container uses, existing or stopped, named or
/// anonymous). Candidates are read without a lock; each is then claimed under its lock by one database transaction
/// (<see cref="VolumeStore.MarkRemovingIfUnused"/>), so a container created meanwhile keeps its volume.
/// </summary>
public sealed partial class VolumeManager
{
    /// <summary>Ready volumes that no container uses now (a hint: <see cref="RemoveIfUnused"/> decides).</summary>
    public IReadOnlyList<ContainerVolume> UnusedVolumes() =>
        List(size: false).Where(v => v.UsedBy.Length == 0 && Store.Get(v.Name)?.State == VolumeStore.Ready).ToList();

    /// <summary>
    /// Removes a volume if it is still unused when claimed; returns the bytes its data held (measured under the lock,
    /// before the claim: no container can write to an unused volume), or null when it was kept (in use by now,
    /// being made or removed by another session, or gone).
    /// </summary>
    public long? RemoveIfUnused(string name)
    {
        VolumeSpec.ValidateName(name);
        using (Lock(name))
        {
            var rec = Store.Get(name);
            if (rec is null || rec.State != VolumeStore.Ready || Store.UserIds(name).Count > 0) return null;
            // A bind volume (type=none) only lends its device's directory: removing it frees nothing of that.
            long size = VolumeDriverOptions.Parse(rec.Options, name).Type == "none" ? 0 : SizeOf(DataOf(name));
            CrashPoint.At("volume-prune-before-mark");
            if (!Store.MarkRemovingIfUnused(name)) return null;
            CrashPoint.At("volume-remove-after-mark");
            FinishRemoval(name);
            return size;
        }
    }
}
