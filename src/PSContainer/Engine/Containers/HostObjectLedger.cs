using System.Globalization;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>One host object a container's run made (or is about to make): its provider's kind and the provider's
/// name for it (a cgroup path, a veth name, a mount point).</summary>
public sealed record HostObject(string ContainerId, string Kind, string Name, DateTime Recorded);

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
}

/// <summary>
/// The ledger of host objects (table host_objects): a provider records an object before it makes it, and the entry
/// is forgotten only once the object is gone. Removal and Repair walk it, so an object whose maker was killed is
/// found by what was recorded rather than by scanning the host for names that look like ours.
/// </summary>
public sealed class HostObjectLedger(StateDb db)
{
    public void Record(string containerId, string kind, string name) => db.Write((c, tx) => c.Execute(tx,
        "INSERT OR IGNORE INTO host_objects(container_id, kind, name, recorded) VALUES($c, $k, $n, $t)",
        ("$c", containerId), ("$k", kind), ("$n", name), ("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture))));

    public void Forget(HostObject o) => db.Write((c, tx) => c.Execute(tx,
        "DELETE FROM host_objects WHERE container_id = $c AND kind = $k AND name = $n",
        ("$c", o.ContainerId), ("$k", o.Kind), ("$n", o.Name)));

    public IReadOnlyList<HostObject> Of(string containerId) => db.Read(c => c.Query(null,
        "SELECT container_id, kind, name, recorded FROM host_objects WHERE container_id = $c ORDER BY recorded", Map, ("$c", containerId)));

    public IReadOnlyList<HostObject> All() => db.Read(c => c.Query(null,
        "SELECT container_id, kind, name, recorded FROM host_objects ORDER BY container_id, recorded", Map));

    private static HostObject Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2),
        DateTime.Parse(r.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));

    /// <summary>Removes <paramref name="o"/> with its provider and forgets it once it is gone; true when the object
    /// existed (so a caller reports only what it really removed). An entry no provider knows is left.</summary>
    public bool RemoveWith(IEnumerable<IHostObjectProvider> providers, HostObject o)
    {
        var provider = providers.FirstOrDefault(p => p.Kind == o.Kind);
        if (provider is null) return false;
        bool existed = provider.Exists(o.Name);
        if (existed) provider.Remove(o.Name);
        if (provider.Exists(o.Name)) return false;
        Forget(o);
        return existed;
    }

    /// <summary>Several objects of one container recorded in one transaction (a provider that makes a few at once),
    /// with <paramref name="alongside"/>, the provider's own change that belongs with them, in the same one.</summary>
    public void RecordAll(string containerId, IReadOnlyList<(string Kind, string Name)> objects,
        Action<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction>? alongside = null) => db.Write((c, tx) =>
    {
        string now = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        foreach (var (kind, name) in objects)
            c.Execute(tx, "INSERT OR IGNORE INTO host_objects(container_id, kind, name, recorded) VALUES($c, $k, $n, $t)",
                ("$c", containerId), ("$k", kind), ("$n", name), ("$t", now));
        alongside?.Invoke(c, tx);
    });

    /// <summary>Forgets several entries whose objects are gone, in one transaction.</summary>
    public void ForgetAll(IReadOnlyList<HostObject> objects)
    {
        if (objects.Count == 0) return;
        db.Write((c, tx) => ForgetIn(c, tx, objects));
    }

    /// <summary>Forgets entries inside a caller's transaction (a provider folding the forgetting into its own write).</summary>
    public static void ForgetIn(Microsoft.Data.Sqlite.SqliteConnection c, Microsoft.Data.Sqlite.SqliteTransaction tx, IEnumerable<HostObject> objects)
    {
        foreach (var o in objects)
            c.Execute(tx, "DELETE FROM host_objects WHERE container_id = $c AND kind = $k AND name = $n", ("$c", o.ContainerId), ("$k", o.Kind), ("$n", o.Name));
    }
}
