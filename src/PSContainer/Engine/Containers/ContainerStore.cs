using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
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
}

/// <summary>Container rows in the shared state database. The UNIQUE name column decides races between sessions.</summary>
public sealed class ContainerStore
{
    private readonly StateDb db;

    public ContainerStore(StateDb db) => this.db = db;

    public void Insert(ContainerRecord r)
    {
        try
        {
            db.Write((c, tx) => c.Execute(tx, """
                INSERT INTO containers(id, name, image, image_id, created, options, command, state)
                VALUES($id, $name, $image, $imageId, $created, $options, $command, $state)
                """,
                ("$id", r.Id), ("$name", r.Name), ("$image", r.Image), ("$imageId", r.ImageId), ("$created", r.Created.ToString("O")),
                ("$options", JsonSerializer.Serialize(r.Options)), ("$command", JsonSerializer.Serialize(r.Command)), ("$state", r.State.ToString())));
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
        {
            throw new EngineException("ContainerNameInUse", ErrorKind.ResourceExists, r.Name,
                $"The container name \"{r.Name}\" is already in use. Remove that container or choose another name.", e);
        }
    }

    public void Update(ContainerRecord r) => db.Write((c, tx) => c.Execute(tx, """
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

    public IReadOnlyList<ContainerRecord> All() => db.Read(c => c.Query(null,
        "SELECT id, name, image, image_id, created, options, command, state, exit_code, oom_killed, started_at, finished_at, pid, monitor_pid, monitor_start, error FROM containers ORDER BY created DESC",
        Map));

    public ContainerRecord? ById(string id) => db.Read(c => c.Query(null,
        "SELECT id, name, image, image_id, created, options, command, state, exit_code, oom_killed, started_at, finished_at, pid, monitor_pid, monitor_start, error FROM containers WHERE id = $id",
        Map, ("$id", id))).FirstOrDefault();

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
    };
}
