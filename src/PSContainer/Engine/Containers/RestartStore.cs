using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>
/// A container's restart bookkeeping (docker keeps it in the container's state): how often it was restarted, whether
/// the user stopped it, the last backoff delay, and which process is waiting to restart it. Only containers with a
/// restart policy have a row; it goes with the container's row.
/// </summary>
public sealed class RestartState
{
    public string Id { get; init; } = "";
    public int RestartCount { get; set; }
    public bool StoppedByUser { get; set; }
    public TimeSpan Delay { get; set; }
    /// <summary>The psc-service process in the backoff wait (0: none): a restart it left unfinished is someone else's to finish.</summary>
    public int RestarterPid { get; set; }
    public long RestarterStart { get; set; }
}

public sealed class RestartStore(StateDb db)
{
    public RestartState Get(string id) => db.Read(c => c.Query(null,
        "SELECT restart_count, stopped_by_user, delay_ms, restarter_pid, restarter_start FROM container_restarts WHERE container_id = $id",
        r => new RestartState
        {
            Id = id,
            RestartCount = r.GetInt32(0),
            StoppedByUser = r.GetInt32(1) != 0,
            Delay = TimeSpan.FromMilliseconds(r.GetInt64(2)),
            RestarterPid = r.GetInt32(3),
            RestarterStart = r.GetInt64(4),
        }, ("$id", id))).FirstOrDefault() ?? new RestartState { Id = id };

    public void Set(RestartState s) => db.Write((c, tx) => c.Execute(tx, """
        INSERT INTO container_restarts(container_id, restart_count, stopped_by_user, delay_ms, restarter_pid, restarter_start)
        VALUES($id, $count, $stopped, $delay, $pid, $start)
        ON CONFLICT(container_id) DO UPDATE SET restart_count = $count, stopped_by_user = $stopped, delay_ms = $delay,
            restarter_pid = $pid, restarter_start = $start
        """,
        ("$id", s.Id), ("$count", s.RestartCount), ("$stopped", s.StoppedByUser ? 1 : 0), ("$delay", (long)s.Delay.TotalMilliseconds),
        ("$pid", s.RestarterPid), ("$start", s.RestarterStart)));

    public void Clear(string id) => db.Write((c, tx) => c.Execute(tx, "DELETE FROM container_restarts WHERE container_id = $id", ("$id", id)));
}
