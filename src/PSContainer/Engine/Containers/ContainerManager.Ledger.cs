using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers.Providers;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The lifecycle's side of the host object ledger (docs/architecture.md, "Lifecycle and providers"): a run records
/// each object before its provider makes it; cleaning up a run, removing a container and Repair remove what the
/// ledger names through the provider of its kind, by the kind's scope, and forget each entry once the object is gone.
/// Providers: cgroups, rootfs (mounts, directories, shifted layer copies), volumes (driver mounts, copy-up).
/// A new provider is one more entry in <see cref="Providers"/>: its entries are then walked like the others.
/// </summary>
public sealed partial class ContainerManager
{
    private HostObjectLedger? ledger;
    private CgroupProvider? cgroupObjects;
    private ShiftedLayerCopies? shiftedLayers;
    private RootfsProvider? rootfsObjects;

    private HostObjectLedger Ledger => ledger ??= new HostObjectLedger(images.Db);

    private CgroupProvider CgroupObjects => cgroupObjects ??= new CgroupProvider(Cgroups);

    private ShiftedLayerCopies ShiftedLayers => shiftedLayers ??= new ShiftedLayerCopies(paths,
        key => store.All().Any(r => MapsOfRecorded(r) is { } m && ShiftedLayerCopies.RangeKey(m) == key));

    private RootfsProvider Rootfs => rootfsObjects ??= new RootfsProvider(Ledger, ShiftedLayers, ContainerDir, warnings.Enqueue);

    private IHostObjectProvider[] Providers => [CgroupObjects, .. Rootfs.Kinds, .. VolumeObjects.Kinds];

    private IHostObjectProvider? ProviderOf(HostObject entry) => Providers.FirstOrDefault(p => p.Kind == entry.Kind);

    /// <summary>Before the runtime makes the container's cgroup (it does so from the path in the spec).</summary>
    private void RecordCgroup(ContainerRecord record) => Ledger.Record(record.Id, CgroupProvider.KindName, CgroupPath(record));

    /// <summary>Removes the objects a container's runs made: every run-scoped ledger entry of it, and the cgroup its
    /// record names (a run started before the ledger existed recorded nothing).</summary>
    private void RemoveRecordedObjects(ContainerRecord record)
    {
        CgroupObjects.Remove(CgroupPath(record));
        RemoveLedgerObjects(record.Id, HostObjectScope.Run);
    }

    /// <summary>Removes a container's ledger entries of one scope, the last made first (a mount before the directory
    /// it sits in).</summary>
    private void RemoveLedgerObjects(string id, HostObjectScope scope)
    {
        var providers = Providers;
        Exception? first = null;
        foreach (var entry in Ledger.Of(id).Reverse())
        {
            if (providers.FirstOrDefault(p => p.Kind == entry.Kind) is not { } provider || provider.Scope != scope) continue;
            try
            {
                Ledger.RemoveWith(providers, entry);
            }
            catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException or Native.NativeException)
            {
                // The others still go; this one's entry stays for the next clean-up or Repair, and the caller hears of it.
                first ??= e;
            }
        }
        if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <summary>For Repair: ledger entries of containers no one runs or holds (a removal or clean-up killed after
    /// its record changed); returns what existed and was removed.</summary>
    private List<string> RemoveUnusedLedgerObjects(Func<string, bool> inUse)
    {
        var removed = new List<string>();
        // One read: the directories of every stopped container are in the ledger, and Repair runs at module import.
        var recorded = store.All().Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in Ledger.All().Where(e => !inUse(e.ContainerId)).Reverse())
        {
            if (recorded.Contains(entry.ContainerId) && ProviderOf(entry) is { Scope: not HostObjectScope.Run }) continue;
            if (RemoveIfUnused(entry)) removed.Add($"{entry.Kind} {entry.Name}");
        }
        return removed;
    }

    /// <summary>Removes a ledger entry's object under the container's lock, so a start that began after Repair
    /// looked cannot lose what it makes, and only if the record (read under the lock) says nothing runs; objects that
    /// live as long as the container (or longer) only once its record is gone.</summary>
    private bool RemoveIfUnused(HostObject entry) => IfIdle(entry.ContainerId, record =>
        // Objects that outlive a run wait for the record to go.
        record is not null && ProviderOf(entry) is { Scope: not HostObjectScope.Run } ? false : Ledger.RemoveWith(Providers, entry));

    /// <summary>Runs <paramref name="remove"/> under the container's lock (skipped when another session holds it) with
    /// its record read under that lock (null: gone), unless the record says something runs; false when skipped.</summary>
    private bool IfIdle(string containerId, Func<ContainerRecord?, bool> remove)
    {
        string lockFile = Path.Combine(ContainerDir(containerId), "lock");
        bool hasLock = File.Exists(lockFile);
        using var held = hasLock ? FileLock.TryAcquire(lockFile, exclusive: true) : null;
        if (hasLock && held is null) return false; // being started, stopped or removed right now
        var record = store.ById(containerId);
        if (record is { State: ContainerState.Running or ContainerState.Paused or ContainerState.Restarting }) return false;
        return remove(record);
    }
}
