using PSContainer.Engine.Cgroups;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The lifecycle's side of the host object ledger (docs/architecture.md, "Lifecycle and providers"): a run records
/// each object before its provider makes it; cleaning up a run and Repair remove what the ledger names through the
/// provider of its kind and forget each entry once the object is gone. Providers so far: cgroups.
/// </summary>
public sealed partial class ContainerManager
{
    private HostObjectLedger? ledger;
    private CgroupProvider? cgroupObjects;

    private HostObjectLedger Ledger => ledger ??= new HostObjectLedger(images.Db);

    private CgroupProvider CgroupObjects => cgroupObjects ??= new CgroupProvider(Cgroups);

    private IHostObjectProvider[] Providers => [CgroupObjects];

    /// <summary>Before the runtime makes the container's cgroup (it does so from the path in the spec).</summary>
    private void RecordCgroup(ContainerRecord record) => Ledger.Record(record.Id, CgroupProvider.KindName, CgroupPath(record));

    /// <summary>Removes the objects a container's runs made: every ledger entry of it, and the cgroup its record
    /// names (a run started before the ledger existed recorded nothing).</summary>
    private void RemoveRecordedObjects(ContainerRecord record)
    {
        CgroupObjects.Remove(CgroupPath(record));
        foreach (var entry in Ledger.Of(record.Id)) Ledger.RemoveWith(Providers, entry);
    }

    /// <summary>For Repair: ledger entries of containers no one runs or holds (a removal or clean-up killed after
    /// its record changed); returns what existed and was removed.</summary>
    private List<string> RemoveUnusedLedgerObjects(Func<string, bool> inUse)
    {
        var removed = new List<string>();
        foreach (var entry in Ledger.All().Where(e => !inUse(e.ContainerId)))
            if (RemoveIfUnused(entry)) removed.Add($"{entry.Kind} {entry.Name}");
        return removed;
    }

    /// <summary>Removes a ledger entry's object under the container's lock, so a start that began after Repair
    /// looked cannot lose what it makes, and only if the record (read under the lock) says nothing runs.</summary>
    private bool RemoveIfUnused(HostObject entry)
    {
        string lockFile = Path.Combine(ContainerDir(entry.ContainerId), "lock");
        bool hasLock = File.Exists(lockFile);
        using var held = hasLock ? FileLock.TryAcquire(lockFile, exclusive: true) : null;
        if (hasLock && held is null) return false; // being started, stopped or removed right now
        if (store.ById(entry.ContainerId) is { State: ContainerState.Running or ContainerState.Paused or ContainerState.Restarting }) return false;
        return Ledger.RemoveWith(Providers, entry);
    }
}
