using System.Globalization;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>One host object a container's run made (or is about to make): its provider's kind, the provider's key
/// for it (a cgroup path, a veth name, a mount point) and, when the key alone cannot say how to remove it, a payload
/// the provider reads back (JSON by convention; null for most kinds).</summary>
public sealed record HostObject(string ContainerId, string Kind, string Name, DateTime Recorded, string? Payload = null);

/// <summary>How long a provider's objects live, which decides who removes them.</summary>
public enum HostObjectScope
{
    /// <summary>Made for one run (mounts, cgroups): removed when the run is cleaned up.</summary>
    Run,

    /// <summary>Part of the container's files (its upper and work directories): removed with the container.</summary>
    Container,

    /// <summary>Shared by the records of several containers (a user namespace range's layer copies): removed after
    /// the container's record is deleted, and only when no other record still needs it.</summary>
    Shared,
}

/// <summary>
/// What a provider makes on the host for a container, and how it is removed. <see cref="Remove"/> is idempotent (an
/// object already gone is fine) and may run in another session than the one that made the object.
/// </summary>
public interface IHostObjectProvider
{
    /// <summary>The kind this provider records in the ledger ("cgroup", ...).</summary>
    string Kind { get; }

    bool Exists(string name);

    void Remove(string name);

    /// <summary>Removes the object of one container's entry; a provider whose objects several containers hold
    /// (<see cref="HeldByOthers"/>) checks again here, under its own lock, with the entry's container.</summary>
    void Remove(HostObject entry) => Remove(entry.Name);

    /// <summary>Who removes the objects: the run's clean-up (the default), the container's removal, or the last user.</summary>
    HostObjectScope Scope => HostObjectScope.Run;

    /// <summary>Whether another container still needs the object an entry names (a volume mount another running
    /// container uses): the entry of this container is then forgotten and the object left to the other.</summary>
    bool HeldByOthers(HostObject entry) => false;
}

/// <summary>
/// The ledger of host objects (table host_objects): a provider records an object before it makes it, and the entry
/// is forgotten only once the object is gone. Removal and Repair walk it, so an object whose maker was killed is
/// found by what was recorded rather than by scanning the host for names that look like ours.
/// Crash points: <c>KIND-after-record</c> (recorded, not made yet) and <c>KIND-after-remove</c> (removed, still recorded).
/// </summary>
public sealed class HostObjectLedger(StateDb db)
{
    /// <summary>
    /// Kinds whose objects a reboot takes away (mounts, cgroups, veths and namespaces, and the address a veth held):
    /// their entries are written without waiting for the disk (<see cref="StateDb.WriteRelaxed"/>). A killed session
    /// still leaves the entry (the WAL is written before the commit returns), which is what record-before-make is for;
    /// only a power cut can lose it, and that takes the object too. Directories and layer copies outlive a reboot, so
    /// theirs are durable.
    /// </summary>
    private static bool GoneAtReboot(string kind) => kind is Cgroups.CgroupProvider.KindName or Providers.MountProvider.KindName
        or Providers.VolumeMountProvider.KindName or Networks.NetnsObjects.KindName or Networks.VethObjects.KindName or Networks.LeaseObjects.KindName;

    private void Write(bool relaxed, Action<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction> work)
    {
        if (relaxed) db.WriteRelaxed(work);
        else db.Write(work);
    }

    public void Record(string containerId, string kind, string name, string? payload = null)
    {
        Write(GoneAtReboot(kind), (c, tx) => c.Execute(tx,
            "INSERT INTO host_objects(container_id, kind, name, recorded, payload) VALUES($c, $k, $n, $t, $p) " +
            "ON CONFLICT(container_id, kind, name) DO UPDATE SET payload = $p",
            ("$c", containerId), ("$k", kind), ("$n", name), ("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
            ("$p", payload)));
        CrashPoint.At(kind + "-after-record");
    }

    /// <summary>
    /// Forgets an entry whose object is gone. Never waits for the disk, whatever the kind: a power cut that loses the
    /// forgetting brings the entry back, and Repair then finds the object gone and forgets it again; and since the
    /// removal itself (an rmdir, an unlink) is not flushed either, a power cut may bring the object back too, which
    /// the entry then still names, where a flushed forgetting would have left it unrecorded.
    /// </summary>
    public void Forget(HostObject o) => Write(relaxed: true, (c, tx) => c.Execute(tx,
        "DELETE FROM host_objects WHERE container_id = $c AND kind = $k AND name = $n",
        ("$c", o.ContainerId), ("$k", o.Kind), ("$n", o.Name)));

    public IReadOnlyList<HostObject> Of(string containerId) => db.Read(c => c.Query(null,
        "SELECT container_id, kind, name, recorded, payload FROM host_objects WHERE container_id = $c ORDER BY recorded", Map, ("$c", containerId)));

    public IReadOnlyList<HostObject> All() => db.Read(c => c.Query(null,
        "SELECT container_id, kind, name, recorded, payload FROM host_objects ORDER BY container_id, recorded", Map));

    private static HostObject Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2),
        DateTime.Parse(r.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), r.IsDBNull(4) ? null : r.GetString(4));

    /// <summary>Removes <paramref name="o"/> with its provider and forgets it once it is gone; true when the object
    /// existed (so a caller reports only what it really removed). An entry no provider knows is left; one whose
    /// object another container still holds is forgotten and its object left.</summary>
    public bool RemoveWith(IEnumerable<IHostObjectProvider> providers, HostObject o)
    {
        var provider = providers.FirstOrDefault(p => p.Kind == o.Kind);
        if (provider is null) return false;
        if (!provider.HeldByOthers(o))
        {
            bool existed = provider.Exists(o.Name);
            if (existed) provider.Remove(o);
            CrashPoint.At(o.Kind + "-after-remove");
            if (!provider.Exists(o.Name))
            {
                Forget(o);
                return existed;
            }
            // Still there: kept for the next Repair, unless another user came (the provider left it to them).
            if (!provider.HeldByOthers(o)) return false;
        }
        Forget(o);
        return false;
    }

    /// <summary>Several objects of one container recorded in one transaction (a provider that makes a few at once),
    /// with <paramref name="alongside"/>, the provider's own change that belongs with them, in the same one.
    /// <paramref name="relaxed"/>: not waiting for the disk even for kinds that outlive a reboot, for a provider whose
    /// objects something else removes after a power cut (directories inside the container's own directory, which its
    /// removal or Repair's sweep of unrecorded container directories deletes whole).</summary>
    public void RecordAll(string containerId, IReadOnlyList<(string Kind, string Name)> objects,
        Action<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction>? alongside = null, bool relaxed = false) =>
        Write(relaxed || (alongside is null && objects.All(o => GoneAtReboot(o.Kind))), (c, tx) =>
    {
        string now = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        foreach (var (kind, name) in objects)
            c.Execute(tx, "INSERT OR IGNORE INTO host_objects(container_id, kind, name, recorded) VALUES($c, $k, $n, $t)",
                ("$c", containerId), ("$k", kind), ("$n", name), ("$t", now));
        alongside?.Invoke(c, tx);
    });

    /// <summary>Forgets several entries whose objects are gone, in one transaction, not waiting for the disk (as
    /// <see cref="Forget"/>).</summary>
    public void ForgetAll(IReadOnlyList<HostObject> objects)
    {
        if (objects.Count == 0) return;
        Write(relaxed: true, (c, tx) => ForgetIn(c, tx, objects));
    }

    /// <summary>Forgets entries inside a caller's transaction (a provider folding the forgetting into its own write).</summary>
    public static void ForgetIn(Microsoft.Data.Sqlite.SqliteConnection c, Microsoft.Data.Sqlite.SqliteTransaction tx, IEnumerable<HostObject> objects)
    {
        foreach (var o in objects)
            c.Execute(tx, "DELETE FROM host_objects WHERE container_id = $c AND kind = $k AND name = $n", ("$c", o.ContainerId), ("$k", o.Kind), ("$n", o.Name));
    }
}
