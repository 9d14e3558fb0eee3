using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Finishing what a killed session left half-done. A start records that it is under way (a marker in the
/// container's run directory) before it makes any host object, and removes the marker only once the store says
/// Running, or once a failed start has undone its work. A start runs under the container's lock, so whoever takes
/// the lock and still finds the marker knows the session that wrote it is gone (the kernel dropped its lock), and
/// undoes the start: the monitor and the container process blocked before execve, the overlay mount, cgroups,
/// network namespace and veths.
/// </summary>
public sealed partial class ContainerManager
{
    private const string StartMarkerName = "start-in-progress";

    private string StartMarker(string id) => Path.Combine(RunDir(id), StartMarkerName);

    /// <summary>Recorded before a start makes anything: who is starting it, for anyone who finds it later.</summary>
    private void MarkStartInProgress(string id) =>
        File.WriteAllText(StartMarker(id), $"{Environment.ProcessId} {DateTime.UtcNow:O}\n");

    private void ClearStartMarker(string id) => File.Delete(StartMarker(id));

    /// <summary>
    /// Under the container's lock: if an earlier start was interrupted, undoes what it made and says so in the
    /// record's Error. Returns whether there was anything to undo.
    /// </summary>
    private bool UndoInterruptedStart(ContainerRecord record)
    {
        if (!File.Exists(StartMarker(record.Id))) return false;
        // The monitor first: left alive it would record the killed container's exit (137) as this container's,
        // even after a new start.
        KillMonitorOf(record.Id);
        CleanUpRun(record, null);
        record.State = ContainerState.Created;
        record.Pid = 0;
        record.MonitorPid = 0;
        record.Error = "its start was interrupted (the session starting it ended); what the start had made was removed";
        store.Update(record);
        File.Delete(ExitFile(record.Id));
        ClearStartMarker(record.Id);
        return true;
    }

    /// <summary>For callers without the lock (listing, Repair): undoes an interrupted start only if nobody is starting it now.</summary>
    private ContainerRecord? UndoInterruptedStartIfIdle(ContainerRecord record)
    {
        if (!File.Exists(StartMarker(record.Id))) return record;
        using var held = FileLock.TryAcquire(Path.Combine(ContainerDir(record.Id), "lock"), exclusive: true);
        if (held is null) return record;
        if (store.ById(record.Id) is not { } fresh) return null;
        UndoInterruptedStart(fresh);
        return fresh;
    }
}
