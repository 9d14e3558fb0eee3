using System.Globalization;
using System.Text.Json;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

// A container's recorded state brought up to date with its monitor's exit record (the exit, its events and clean-up).
public sealed partial class ContainerManager
{
    // ---- state ----------------------------------------------------------------------------------------------

    private sealed class ExitRecord
    {
        public int exitCode { get; set; }
        public int signal { get; set; }
        public bool oomKilled { get; set; }
        public string? finishedAt { get; set; }
    }

    /// <summary>
    /// Brings a running container's record up to date: its exit as the monitor recorded it, or, if the monitor is
    /// gone without a record, says so. Returns null if the container was auto-removed.
    /// </summary>
    private ContainerRecord? Reconcile(ContainerRecord record)
    {
        if (UndoInterruptedCreate(record)) return null;
        UndoInterruptedStart(record);
        SettleInterruptedNetworkChange(record);
        if (record.State is not (ContainerState.Running or ContainerState.Paused)) return record;
        string exitFile = ExitFile(record.Id);
        if (!File.Exists(exitFile))
        {
            if (ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart)) return record;
            if (!File.Exists(exitFile))
            {
                bool containerAlive = ProcessInfo.Exists(record.Pid);
                string message = containerAlive
                    ? "the container's monitor died: its output is no longer logged and its exit will not be recorded"
                    : MonitorLostWithoutExit;
                if (record.Error != message)
                {
                    record.Error = message;
                    if (!containerAlive)
                    {
                        record.State = ContainerState.Dead;
                        record.FinishedAt = DateTime.UtcNow;
                        CleanUpRun(record, null);
                    }
                    store.Update(record);
                }
                return record;
            }
        }
        ExitRecord? exit = null;
        try
        {
            exit = JsonSerializer.Deserialize<ExitRecord>(File.ReadAllText(exitFile));
        }
        catch (JsonException)
        {
        }
        record.State = ContainerState.Exited;
        record.ExitCode = exit?.exitCode ?? -1;
        record.OOMKilled = exit?.oomKilled ?? false;
        record.FinishedAt = exit?.finishedAt is string f && DateTime.TryParse(f, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : DateTime.UtcNow;
        record.Pid = 0;
        record.Error = exit is null ? "the exit record was unreadable" : null;
        CleanUpRun(record, null);
        store.Update(record);
        // A command that exits at once can end before the engine has recorded its start: never before it.
        var ended = record.FinishedAt is DateTime finished && record.StartedAt is DateTime began && finished < began ? began : record.FinishedAt;
        if (record.OOMKilled) RecordEvent(record, "oom", ended);
        RecordEvent(record, "die", ended, ("exitCode", (record.ExitCode ?? -1).ToString(CultureInfo.InvariantCulture)));
        RecordNetworkEvents(record, "disconnect", ended);
        if (record.Options.AutoRemove)
        {
            RemovedExits[record.Id] = new ContainerExit(record.Id, record.Name, record.ExitCode ?? -1, record.OOMKilled, record.FinishedAt);
            // A long-lived process (psc-api) must not keep every exit forever: a Wait comes soon after the exit.
            if (RemovedExits.Count > 1024)
                foreach (var old in RemovedExits.Where(kv => kv.Value.FinishedAt < DateTime.UtcNow.AddMinutes(-10)).ToList()) RemovedExits.TryRemove(old.Key, out _);
            using (WaitForLogFollowers(record.Id)) RemoveFiles(record.Id);
            Networks.Forget(record.Id);
            store.Delete(record.Id);
            RecordEvent(record, "destroy");
            RemoveLedgerObjects(record.Id, HostObjectScope.Shared);
            VolumeObjects.RemoveAnonymous(record.Options); // docker run --rm takes its anonymous volumes along
            LayerStore.DeleteTree(ContainerDir(record.Id));
            return null;
        }
        return record;
    }

    /// <summary>How auto-removed containers ended, for a Wait that comes after the removal.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ContainerExit> RemovedExits = new();
}
