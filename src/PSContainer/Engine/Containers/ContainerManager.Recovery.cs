using PSContainer.Engine.Storage;
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

    private const string CreateMarkerName = "create-in-progress";

    private string StartMarker(string id) => Path.Combine(RunDir(id), StartMarkerName);

    private string CreateMarker(string id) => Path.Combine(ContainerDir(id), CreateMarkerName);

    /// <summary>
    /// Recorded before an operation makes anything: who is doing it, for anyone who finds it later. Flushed to disk
    /// with its directory entry, so after a power cut the marker is there if anything it announces may be.
    /// </summary>
    private static void WriteMarker(string path) => Durable.WriteFile(path, $"{Environment.ProcessId} {DateTime.UtcNow:O}\n");

    private void MarkCreateInProgress(string id) => WriteMarker(CreateMarker(id));

    private void ClearCreateMarker(string id) => Durable.DeleteFile(CreateMarker(id));

    /// <summary>
    /// Under the container's lock: a creation that never finished (its session was killed between the record and
    /// the network endpoints) is undone entirely, record included, as if New-Container had failed. Returns whether
    /// the container is gone.
    /// </summary>
    private bool UndoInterruptedCreate(ContainerRecord record)
    {
        if (!File.Exists(CreateMarker(record.Id))) return false;
        Networks.Forget(record.Id);
        store.Delete(record.Id);
        TryDeleteContainerDirectory(record.Id);
        return true;
    }

    /// <summary>
    /// The files of a container whose record is gone, as Remove-Container deletes them (mounts, run directory,
    /// then the directory with its lock file last); a race with another session removing it too is left to the
    /// next Repair.
    /// </summary>
    private void TryDeleteContainerDirectory(string id)
    {
        try
        {
            RemoveFiles(id);
            LayerStore.DeleteTree(ContainerDir(id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Container directories no record accounts for: a creation killed before its record was inserted, or a
    /// removal killed after its record was deleted. Removed when nobody holds their lock and they are not brand new
    /// (a creation makes the directory an instant before it takes the lock). Returns the ids removed.
    /// </summary>
    private List<string> RemoveOrphanContainerDirectories(ISet<string> known)
    {
        var removed = new List<string>();
        string root = Path.Combine(paths.Root, "containers");
        if (!Directory.Exists(root)) return removed;
        foreach (string dir in Directory.GetDirectories(root))
        {
            string id = Path.GetFileName(dir);
            if (known.Contains(id) || store.ById(id) is not null) continue;
            string lockFile = Path.Combine(dir, "lock");
            if (!File.Exists(lockFile) && Directory.GetLastWriteTimeUtc(dir) > DateTime.UtcNow.AddMinutes(-1)) continue;
            using var held = File.Exists(lockFile) ? FileLock.TryAcquire(lockFile, exclusive: true) : null;
            if (File.Exists(lockFile) && held is null) continue;
            if (store.ById(id) is not null) continue;
            TryDeleteContainerDirectory(id);
            if (!Directory.Exists(dir)) removed.Add(id);
        }
        return removed;
    }

    /// <summary>Not flushed to disk as the create marker is: it lives in the run root, which is not meant to outlive
    /// a boot (tmpfs at /run), and neither does anything a start makes that this marker announces (monitor,
    /// mounts, cgroups, network namespace); a killed session's marker is in the page cache all the same.</summary>
    private void MarkStartInProgress(string id) => File.WriteAllText(StartMarker(id), $"{Environment.ProcessId} {DateTime.UtcNow:O}\n");

    private void ClearStartMarker(string id) => File.Delete(StartMarker(id));

    /// <summary>
    /// Under the container's lock: if an earlier start was interrupted, undoes what it made and says so in the
    /// record's Error. Returns whether there was anything to undo.
    /// </summary>
    private bool UndoInterruptedStart(ContainerRecord record)
    {
        if (!File.Exists(StartMarker(record.Id))) return false;
        if (record.State is ContainerState.Running or ContainerState.Paused)
        {
            // Killed after the store said Running and before the marker went: that start had finished.
            ClearStartMarker(record.Id);
            return false;
        }
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
        if (!File.Exists(StartMarker(record.Id)) && !File.Exists(CreateMarker(record.Id)) && !NetworkChangeMarkers(record.Id).Any()
            && !File.Exists(CopyMarker(record.Id))) return record;
        using var held = FileLock.TryAcquire(Path.Combine(ContainerDir(record.Id), "lock"), exclusive: true);
        if (held is null) return File.Exists(CreateMarker(record.Id)) ? null : record;   // being made right now: not listed yet
        if (store.ById(record.Id) is not { } fresh) return null;
        if (UndoInterruptedCreate(fresh)) return null;
        UndoInterruptedStart(fresh);
        UndoInterruptedCopy(fresh.Id);
        SettleInterruptedNetworkChange(fresh);
        return fresh;
    }
}
