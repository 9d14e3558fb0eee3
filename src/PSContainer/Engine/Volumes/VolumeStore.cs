using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Volumes;

/// <summary>A volume's row. State: creating (recorded, directory maybe not made yet), ready, removing.</summary>
public sealed record VolumeRecord(string Name, string Driver, Dictionary<string, string> Options, Dictionary<string, string> Labels,
    DateTime Created, bool Anonymous, string State);

/// <summary>
/// Volume rows and which containers use them. Races between sessions are decided by the database: the primary key
/// decides who creates a name, and one IMMEDIATE transaction both checks a volume has no users and marks it
/// removing, while attaching a user refuses a volume being removed; a volume row cannot go while a user row
/// points at it (foreign key), and a container's user rows go with its record (cascade).
/// </summary>
public sealed partial class VolumeStore
{
    public const string Creating = "creating", Ready = "ready", Removing = "removing";
    private readonly StateDb db;

    public VolumeStore(StateDb db)
    {
        this.db = db;
        // Its tables are part of the state schema (StateSchema), made when the database is opened.
    }

    private const string Columns = "name, driver, options, labels, created, anonymous, state";

    private static VolumeRecord Map(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1),
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(2)) ?? new(),
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(3)) ?? new(),
        DateTime.Parse(r.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), r.GetInt64(5) != 0, r.GetString(6));

    private static void InsertRow(SqliteConnection c, SqliteTransaction tx, VolumeRecord v) => c.Execute(tx,
        $"INSERT INTO volumes({Columns}) VALUES($n, $d, $o, $l, $c, $a, $s)",
        ("$n", v.Name), ("$d", v.Driver), ("$o", JsonSerializer.Serialize(v.Options)), ("$l", JsonSerializer.Serialize(v.Labels)),
        ("$c", v.Created.ToString("O")), ("$a", v.Anonymous ? 1 : 0), ("$s", v.State));

    public void Insert(VolumeRecord v)
    {
        try
        {
            db.Write((c, tx) => InsertRow(c, tx, v));
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
        {
            throw new EngineException("VolumeExists", ErrorKind.ResourceExists, v.Name, $"A volume named {v.Name} already exists.", e);
        }
    }

    public VolumeRecord? Get(string name) =>
        db.Read(c => c.Query(null, $"SELECT {Columns} FROM volumes WHERE name = $n", Map, ("$n", name))).FirstOrDefault();

    public List<VolumeRecord> All() => db.Read(c => c.Query(null, $"SELECT {Columns} FROM volumes ORDER BY name", Map));

    public void SetState(string name, string state) =>
        db.Write((c, tx) => c.Execute(tx, "UPDATE volumes SET state = $s WHERE name = $n", ("$s", state), ("$n", name)));

    public void Delete(string name) => db.Write((c, tx) =>
    {
        c.Execute(tx, "DELETE FROM volume_users WHERE volume = $n", ("$n", name));
        c.Execute(tx, "DELETE FROM volumes WHERE name = $n", ("$n", name));
    });

    /// <summary>Names of the containers using each volume.</summary>
    public Dictionary<string, List<string>> Users() => db.Read(c => c.Query(null,
            "SELECT u.volume, c.name FROM volume_users u JOIN containers c ON c.id = u.container_id ORDER BY c.name",
            r => (Volume: r.GetString(0), Container: r.GetString(1))))
        .GroupBy(x => x.Volume).ToDictionary(g => g.Key, g => g.Select(x => x.Container).ToList(), StringComparer.Ordinal);

    /// <summary>Ids of the containers using a volume whose record says they run, other than one.</summary>
    public List<string> RunningUsers(string name, string exceptId) => db.Read(c => c.Query(null,
        "SELECT c.id FROM volume_users u JOIN containers c ON c.id = u.container_id WHERE u.volume = $n AND c.id <> $x AND c.state IN ('Running', 'Paused')",
        r => r.GetString(0), ("$n", name), ("$x", exceptId)));

    /// <summary>Ids of every container using a volume.</summary>
    public List<string> UserIds(string name) => db.Read(c => c.Query(null,
        "SELECT container_id FROM volume_users WHERE volume = $n", r => r.GetString(0), ("$n", name)));

    /// <summary>
    /// Makes a container a user of its volumes in one transaction, recording missing ones (state creating) first, as
    /// docker creates a named volume on first use. Returns the names it recorded. A volume being removed is refused.
    /// </summary>
    public List<string> Attach(string containerId, IEnumerable<(string Name, bool Anonymous)> volumes) => db.Write((c, tx) =>
    {
        var made = new List<string>();
        foreach (var (name, anonymous) in volumes)
        {
            var row = c.Query(tx, $"SELECT {Columns} FROM volumes WHERE name = $n", Map, ("$n", name)).FirstOrDefault();
            if (row is null)
            {
                InsertRow(c, tx, new VolumeRecord(name, "local", new(), new(), DateTime.UtcNow, anonymous, Creating));
                made.Add(name);
            }
            else if (row.State == Removing)
            {
                throw new EngineException("VolumeBeingRemoved", ErrorKind.ResourceUnavailable, name, $"Volume {name} is being removed; create the container again once it is gone.");
            }
            c.Execute(tx, "INSERT OR IGNORE INTO volume_users(volume, container_id) VALUES($n, $id)", ("$n", name), ("$id", containerId));
        }
        return made;
    });

    /// <summary>Marks a volume removing if nobody uses it; throws VolumeInUse naming the users. False if there is no such volume.</summary>
    public bool MarkRemoving(string name) => db.Write((c, tx) =>
    {
        if (c.Query(tx, "SELECT name FROM volumes WHERE name = $n", r => r.GetString(0), ("$n", name)).Count == 0) return false;
        var users = c.Query(tx, "SELECT c.name FROM volume_users u JOIN containers c ON c.id = u.container_id WHERE u.volume = $n ORDER BY c.name",
            r => r.GetString(0), ("$n", name));
        if (users.Count > 0)
            throw new EngineException("VolumeInUse", ErrorKind.InvalidOperation, name,
                $"Volume {name} is in use by container{(users.Count > 1 ? "s" : "")} {string.Join(", ", users)}: remove {(users.Count > 1 ? "them" : "it")} first.");
        c.Execute(tx, "UPDATE volumes SET state = $s WHERE name = $n", ("$s", Removing), ("$n", name));
        return true;
    });
}
