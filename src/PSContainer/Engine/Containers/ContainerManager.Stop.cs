using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// docker stop, kill, wait and rm.
public sealed partial class ContainerManager
{
    // ---- stop, wait, remove ------------------------------------------------------------------------------

    /// <summary>
    /// Without a signal: SIGTERM (or the image's stop signal), then SIGKILL after the timeout, as docker stop.
    /// With a signal: sends just that signal, as docker kill. <paramref name="stopSignal"/> replaces the stop signal
    /// (docker stop -s).
    /// </summary>
    public Container Stop(string idOrName, TimeSpan? timeout, string? signal = null, string? stopSignal = null) =>
        Stop(idOrName, timeout, signal, stopSignal, onlyIfRunning: false).Container;

    /// <summary>
    /// Stop-Container's and docker stop's stop: as <see cref="Stop(string, TimeSpan?, string?, string?)"/>, except that
    /// a container neither running nor waiting out a restart backoff is left exactly as it is (docker's 304), which
    /// the second value says. Its state is taken under the lock the stop holds, not by a lookup before it.
    /// </summary>
    /// <param name="shown">How the user named the container, for the errors (<paramref name="id"/> is resolved already).</param>
    public (Container Container, bool WasRunning) StopIfRunning(string id, string shown, TimeSpan? timeout, string? signal, string? stopSignal) =>
        Stop(id, timeout, signal, stopSignal, onlyIfRunning: true, shown);

    private (Container Container, bool WasRunning) Stop(string idOrName, TimeSpan? timeout, string? signal, string? stopSignal, bool onlyIfRunning, string? shown = null)
    {
        var record = Resolve(idOrName);
        idOrName = shown ?? idOrName;
        using (LockContainer(record.Id))
        {
            PhaseClock.Mark("stop-locked");
            record = Reconcile(Current(record.Id, idOrName));
            if (record is null) throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            if (onlyIfRunning && record.State is not (ContainerState.Running or ContainerState.Paused or ContainerState.Restarting))
                return (ToContainer(record), false);
            record = CancelRestartForStop(record);
            if (record.State is not (ContainerState.Running or ContainerState.Paused)) return (ToContainer(record), true);
            var runtime = RuntimeFor(record.Options.Runtime);
            using var watching = WatchExit(record.Id);
            // Held from before the signal: the same pidfd takes the signal to relay and wakes us when it exits.
            using var monitor = MonitorHandle.Open(record);
            if (signal is not null)
            {
                RecordEvent(record, "kill", null, ("signal", signal));
                var r = SignalContainer(record, runtime, monitor, signal);
                if (r is { ExitCode: not 0 } && File.Exists(ExitFile(record.Id)) is false)
                    throw new EngineException("SignalFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot send {signal} to {record.Name}: {r.Stderr}");
                WaitForExit(record, TimeSpan.FromMilliseconds(200), monitor);
            }
            else
            {
                ThawIfPaused(record, runtime);
                // -StopSignal of the container, else the image's StopSignal, else SIGTERM; -StopTimeout likewise.
                var grace = timeout ?? TimeSpan.FromSeconds(record.Options.StopTimeout ?? ContainerOptions.DefaultStopTimeout);
                if (grace > TimeSpan.Zero)
                {
                    stopSignal ??= record.Options.StopSignal
                        ?? (images.Find(record.ImageId)?.Config.StopSignal is { Length: > 0 } s ? s : "SIGTERM");
                    SignalContainer(record, runtime, monitor, stopSignal);
                    CrashPoint.At("stop-after-signal");
                    if (!WaitForExit(record, grace, monitor)) SignalContainer(record, runtime, monitor, "SIGKILL", all: true);
                }
                else
                {
                    SignalContainer(record, runtime, monitor, "SIGKILL", all: true);
                }
                PhaseClock.Mark("stop-signalled");
                if (!WaitForKilled(record, monitor))
                    throw new EngineException("StopTimeout", ErrorKind.OperationStopped, record.Name, $"Container {record.Name} did not exit after SIGKILL.");
                CrashPoint.At("stop-after-exit");
            }
            var stopped = store.ById(record.Id)!;
            record = Reconcile(stopped);
            if (signal is null) RecordEvent(stopped, "stop");
            return (record is null ? ToContainer(new ContainerRecord { Id = "", Name = idOrName, State = ContainerState.Exited }) : ToContainer(record), true);
        }
    }

    /// <summary>
    /// Waits until the container has exited: its monitor's exit record appears, or, when the monitor itself is
    /// gone (killed), the container's process is gone, since no record will ever come. <paramref name="monitor"/>:
    /// the caller's handle on the monitor, else one is opened here.
    /// </summary>
    private bool WaitForExit(ContainerRecord record, TimeSpan timeout, MonitorHandle? monitor = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        // The monitor writes the exit record just before it exits: its pidfd wakes us then, where a sleep would
        // look up to a slice late. Without a monitor (killed) the container's own exit is polled.
        using var own = monitor is null ? MonitorHandle.Open(record) : null;
        monitor ??= own;
        while (true)
        {
            if (File.Exists(ExitFile(record.Id))) return true;
            if (!ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart) && !ProcessInfo.Exists(record.Pid)) return true;
            double left = (deadline - DateTime.UtcNow).TotalMilliseconds;
            if (left <= 0) return false;
            if (monitor is null || monitor.Exited) Thread.Sleep((int)Math.Clamp(left, 1, 10));
            else monitor.Wait((int)Math.Clamp(left, 1, 50));
        }
    }

    /// <summary>
    /// After SIGKILL: the container's exit, 10 s at most; then, if its process is gone but its monitor is still at
    /// the `runtime delete` it runs before the exit record (poststop hooks can be slow; it gives up after 60 s), the
    /// rest of that.
    /// </summary>
    private bool WaitForKilled(ContainerRecord record, MonitorHandle? monitor) =>
        WaitForExit(record, TimeSpan.FromSeconds(10), monitor)
        || (!ProcessInfo.Exists(record.Pid) && WaitForExit(record, TimeSpan.FromSeconds(65), monitor));

    /// <summary>Frozen processes cannot act on a signal (not even SIGKILL under cgroup v1): thaw before stopping.</summary>
    private void ThawIfPaused(ContainerRecord record, RuntimeClient runtime)
    {
        if (record.State != ContainerState.Paused) return;
        var r = runtime.Run(TimeSpan.FromSeconds(30), "resume", record.Id);
        if (r.ExitCode == 0)
        {
            record.State = ContainerState.Running;
            store.Update(record);
        }
    }

    public ContainerExit Wait(string idOrName, CancellationToken cancel)
    {
        if (RemovedExits.TryGetValue(idOrName, out var removed)) return removed;
        var record = Resolve(idOrName);
        string id = record.Id;
        using var watching = record.State is ContainerState.Running or ContainerState.Paused ? WatchExit(id) : null;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            ContainerRecord? current;
            try
            {
                using (LockContainer(id))
                    current = store.ById(id) is { } r ? Reconcile(r) : null;
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
            {
                current = null;
            }
            if (current is null)
                return RemovedExits.TryGetValue(id, out var exit) ? exit
                    : throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"Container {idOrName} was removed while waiting.");
            switch (current.State)
            {
                case ContainerState.Exited:
                case ContainerState.Dead:
                case ContainerState.Restarting:
                    return new ContainerExit(id, current.Name, current.ExitCode ?? -1, current.OOMKilled, current.FinishedAt);
                case ContainerState.Created when current.Error is not null:
                    // Its start failed: docker wait returns the code the failure stands for (127, 126…).
                    return new ContainerExit(id, current.Name, current.ExitCode ?? -1, false, null);
                case ContainerState.Created:
                    throw new EngineException("ContainerNotStarted", ErrorKind.InvalidOperation, current.Name, $"Container {current.Name} has not been started.");
            }
            WaitForMonitor(current, cancel);
            PhaseClock.Mark("wait-monitor-exited");
        }
    }

    /// <summary>Blocks until the container's monitor exits (it writes the exit record just before), or a short while.</summary>
    private void WaitForMonitor(ContainerRecord record, CancellationToken cancel)
    {
        int pidfd = ProcessWaiter.Open(record.MonitorPid, () => ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart));
        if (pidfd < 0)
        {
            // Gone already. Having written its exit record (it exited between the caller's look and this one): look
            // again at once, not 50 ms later. Without one (it died; the container may still run): in a moment.
            if (!File.Exists(ExitFile(record.Id))) Thread.Sleep(50);
            return;
        }
        try
        {
            // Slices, so cancellation (Ctrl+C, -Timeout) is seen within a quarter second.
            while (!cancel.IsCancellationRequested && !ProcessWaiter.Wait(pidfd, 250)) { }
        }
        finally
        {
            ProcessWaiter.Close(pidfd);
        }
    }

    public void Remove(string idOrName, bool force, bool removeVolumes = false)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            PhaseClock.Mark("remove-locked");
            var current = store.ById(record.Id) is { } r ? Reconcile(r) : null;
            PhaseClock.Mark("remove-reconciled");
            if (current is null) return;
            if (current.State == ContainerState.Restarting && !force)
                throw new EngineException("ContainerRestarting", ErrorKind.InvalidOperation, current.Name,
                    $"Container {current.Name} is restarting: stop it before removing it, or use -Force.");
            if (current.State is ContainerState.Running or ContainerState.Paused)
            {
                if (!force)
                    throw new EngineException("ContainerRunning", ErrorKind.InvalidOperation, current.Name,
                        $"Container {current.Name} is running: stop it before removing it, or use -Force.");
                var runtime = RuntimeFor(current.Options.Runtime);
                using var watching = WatchExit(current.Id);
                using var monitor = MonitorHandle.Open(current);
                ThawIfPaused(current, runtime);
                SignalContainer(current, runtime, monitor, "SIGKILL", all: true);
                WaitForKilled(current, monitor);
                current = Reconcile(current) ?? current;
            }
            CleanUpRun(current, null);
            RemoveFiles(current.Id);
            CrashPoint.At("remove-after-files");
            Networks.Forget(current.Id);
            store.Delete(current.Id); // its id range and volume uses go with the row
            RecordEvent(current, "destroy");
            // Objects shared with other records (a range's layer copies) go once no record needs them.
            RemoveLedgerObjects(current.Id, HostObjectScope.Shared);
            if (removeVolumes) VolumeObjects.RemoveAnonymous(current.Options);
        }
        // A kill here leaves the directory (its lock file only) with no record: Repair-ContainerState removes it.
        CrashPoint.At("remove-after-record");
        LayerStore.DeleteTree(ContainerDir(record.Id));
    }

    private void RemoveFiles(string id)
    {
        // What the ledger says the container's runs and files are (a run killed before its clean-up included).
        RemoveLedgerObjects(id, HostObjectScope.Run);
        RemoveLedgerObjects(id, HostObjectScope.Container);
        // A guard, not the clean-up: a root from before the ledger recorded mounts may still hold one here, and
        // deleting the tree must never reach into a mounted file system.
        foreach (string mount in Mounts.MountPointsUnder(ContainerDir(id))) Mounts.Unmount(mount, detach: true);
        if (Directory.Exists(RunDir(id))) LayerStore.DeleteTree(RunDir(id));
        // The lock file is removed with the directory by the caller once the lock is released.
        foreach (string entry in Directory.Exists(ContainerDir(id)) ? Directory.EnumerateFileSystemEntries(ContainerDir(id)).ToList() : [])
        {
            if (Path.GetFileName(entry) == "lock") continue;
            if (Directory.Exists(entry)) LayerStore.DeleteTree(entry);
            else File.Delete(entry);
        }
    }
}
