using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Security;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>A container's row: its creation options and its last known state.</summary>
public sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Image { get; set; } = "";
    public string ImageId { get; set; } = "";
    public DateTime Created { get; set; }
    public ContainerOptions Options { get; set; } = new();
    public string[] Command { get; set; } = [];
    public ContainerState State { get; set; }
    public int? ExitCode { get; set; }
    public bool OOMKilled { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public int Pid { get; set; }
    public int MonitorPid { get; set; }
    public long MonitorStart { get; set; }
    public string? Error { get; set; }

    /// <summary>An Auto container's id range (its userns_ranges row, read with the record); null for the other modes.</summary>
    public IdRange? IdRange { get; set; }
}

/// <summary>Container rows in the shared state database. The UNIQUE name column decides races between sessions.</summary>
public sealed class ContainerStore
{
    private readonly StateDb db;

    public ContainerStore(StateDb db) => this.db = db;

    /// <summary>
    /// Inserts the row; <paramref name="allocateRange"/>, when given, records the container's id range in the same
    /// transaction (a container is never without its range, and one write is paid, not two).
    /// </summary>
    public void Insert(ContainerRecord r, Func<SqliteConnection, SqliteTransaction, IdRange>? allocateRange = null)
    {
        try
        {
            r.IdRange = db.Write((c, tx) =>
            {
                c.Execute(tx, """
                    INSERT INTO containers(id, name, image, image_id, created, options, command, state)
                    VALUES($id, $name, $image, $imageId, $created, $options, $command, $state)
                    """,
                    ("$id", r.Id), ("$name", r.Name), ("$image", r.Image), ("$imageId", r.ImageId), ("$created", r.Created.ToString("O")),
                    ("$options", JsonSerializer.Serialize(r.Options)), ("$command", JsonSerializer.Serialize(r.Command)), ("$state", r.State.ToString()));
                return allocateRange?.Invoke(c, tx);
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
        {
            throw new EngineException("ContainerNameInUse", ErrorKind.ResourceExists, r.Name,
                $"The container name \"{r.Name}\" is already in use. Remove that container or choose another name.", e);
        }
    }

    /// <summary>
    /// Records a state change (start, exit, pause...). Relaxed: after a power cut the host holds no process, mount
    /// or cgroup of the run, and Reconcile derives the state again from the monitor and its exit file, so a lost
    /// update of this row costs nothing; its fsync cost every start and exit one (issue 15).
    /// </summary>
    public void Update(ContainerRecord r) => db.WriteRelaxed((c, tx) => c.Execute(tx, """
        UPDATE containers SET state = $state, exit_code = $exit, oom_killed = $oom, started_at = $started, finished_at = $finished,
            pid = $pid, monitor_pid = $mpid, monitor_start = $mstart, error = $error
        WHERE id = $id
        """,
        ("$id", r.Id), ("$state", r.State.ToString()), ("$exit", r.ExitCode), ("$oom", r.OOMKilled ? 1 : 0),
        ("$started", r.StartedAt?.ToString("O")), ("$finished", r.FinishedAt?.ToString("O")), ("$pid", r.Pid),
        ("$mpid", r.MonitorPid), ("$mstart", r.MonitorStart), ("$error", r.Error)));

    /// <summary>Gives the container a new name; the UNIQUE name column refuses one another container has.</summary>
    public void Rename(string id, string name)
    {
        try
        {
            db.Write((c, tx) => c.Execute(tx, "UPDATE containers SET name = $name WHERE id = $id", ("$id", id), ("$name", name)));
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
        {
            throw new EngineException("ContainerNameInUse", ErrorKind.ResourceExists, name,
                $"The container name \"{name}\" is already in use. Remove that container or choose another name.", e);
        }
    }

    public bool Delete(string id) => db.Write((c, tx) => c.Execute(tx, "DELETE FROM containers WHERE id = $id", ("$id", id)) > 0);

    /// <summary>The columns of a record, with its id range joined in (one query, no second look-up per container).</summary>
    private const string Select = """
        SELECT c.id, c.name, c.image, c.image_id, c.created, c.options, c.command, c.state, c.exit_code, c.oom_killed, c.started_at,
            c.finished_at, c.pid, c.monitor_pid, c.monitor_start, c.error, u.slot, u.uid_start, u.gid_start, u.size
        FROM containers c LEFT JOIN userns_ranges u ON u.container_id = c.id
        """;

    public IReadOnlyList<ContainerRecord> All() => db.Read(c => c.Query(null, Select + " ORDER BY c.created DESC", Map));

    public ContainerRecord? ById(string id) => db.Read(c => c.Query(null, Select + " WHERE c.id = $id", Map, ("$id", id))).FirstOrDefault();

    public IReadOnlySet<string> ImageIdsInUse() => db.Read(c => c.Query(null, "SELECT DISTINCT image_id FROM containers", r => r.GetString(0))).ToHashSet();

    private static DateTime? Time(SqliteDataReader r, int i) =>
        r.IsDBNull(i) ? null : DateTime.Parse(r.GetString(i), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static ContainerRecord Map(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = r.GetString(1),
        Image = r.GetString(2),
        ImageId = r.GetString(3),
        Created = Time(r, 4)!.Value,
        Options = JsonSerializer.Deserialize<ContainerOptions>(r.GetString(5)) ?? new(),
        Command = JsonSerializer.Deserialize<string[]>(r.GetString(6)) ?? [],
        State = Enum.Parse<ContainerState>(r.GetString(7)),
        ExitCode = r.IsDBNull(8) ? null : r.GetInt32(8),
        OOMKilled = r.GetInt32(9) != 0,
        StartedAt = Time(r, 10),
        FinishedAt = Time(r, 11),
        Pid = r.GetInt32(12),
        MonitorPid = r.GetInt32(13),
        MonitorStart = r.GetInt64(14),
        Error = r.IsDBNull(15) ? null : r.GetString(15),
        IdRange = r.IsDBNull(16) ? null : new IdRange(r.GetInt32(16), r.GetInt64(17), r.GetInt64(18), r.GetInt64(19)),
    };
}
