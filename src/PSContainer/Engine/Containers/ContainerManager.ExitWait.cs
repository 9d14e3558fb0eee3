using PSContainer.Native;

namespace PSContainer.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// A pidfd of the container's monitor, for a wait that wakes when it exits; -1 when there is none to wait on
    /// (not recorded, already gone, or its pid now names another process).
    /// </summary>
    private static int MonitorExitHandle(ContainerRecord record)
    {
        if (record.MonitorPid <= 0) return -1;
        try
        {
            return ProcessWaiter.Open(record.MonitorPid, () => ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart));
        }
        catch (NativeException)
        {
            return -1;
        }
    }

    /// <summary>
    /// The container's monitor, held by a pidfd opened while its pid still named it (its recorded start time): waited
    /// on for the exit, and asked to signal the container (<see cref="Relay"/>), which spares Stop-Container a
    /// `runtime kill` process. Null from <see cref="Open"/> when there is no monitor to hold.
    /// </summary>
    private sealed class MonitorHandle : IDisposable
    {
        /// <summary>psc-monitor's relay request (monitor.h, MON_RELAY_SIGNAL): queued with the signal to send as value.</summary>
        private const int RelaySignal = 38;

        private readonly int pid;
        private int fd;

        private MonitorHandle(int fd, int pid)
        {
            this.fd = fd;
            this.pid = pid;
        }

        public static MonitorHandle? Open(ContainerRecord record) =>
            MonitorExitHandle(record) is int fd and >= 0 ? new MonitorHandle(fd, record.MonitorPid) : null;

        public bool Exited { get; private set; }

        /// <summary>Waits up to <paramref name="timeoutMs"/> for the monitor to exit; true once it has.</summary>
        public bool Wait(int timeoutMs)
        {
            if (!Exited && ProcessWaiter.Wait(fd, timeoutMs)) Exited = true;
            return Exited;
        }

        /// <summary>
        /// Asks the monitor to send <paramref name="signal"/> to the container's process. Exact where `runtime kill`
        /// is: the monitor is that process's parent and signals it only until it has reaped it, so a recycled pid
        /// is never hit, and the request goes through the pidfd to this very monitor. False (the caller runs
        /// `runtime kill`) when the monitor has exited or does not take requests (a monitor from an older build,
        /// which the signal would kill: it does not block it).
        /// </summary>
        public bool Relay(int signal)
        {
            if (Exited || !ProcessSignal.Blocks(pid, RelaySignal)) return false;
            return ProcessSignal.Queue(fd, RelaySignal, signal);
        }

        public void Dispose()
        {
            ProcessWaiter.Close(fd);
            fd = -1;
        }
    }

    /// <summary>
    /// The number of <paramref name="signal"/> when the monitor can deliver it exactly as `runtime kill` would; null
    /// when `runtime kill` must: a paused container (its runtime thaws and freezes), a signal that is not a standard
    /// one by name or number, or --all (every process of the cgroup) unless it is SIGKILL to a container with its own
    /// pid namespace, whose init's death kills every other process in it (and the monitor's `runtime delete --force`
    /// after the exit kills whatever the cgroup still holds).
    /// </summary>
    private static int? RelayableSignal(ContainerRecord record, string signal, bool all)
    {
        if (record.State != ContainerState.Running || SignalName.StandardNumber(signal) is not int number) return null;
        if (all && (number != ProcessSignal.SIGKILL || record.Options.PidMode is not null)) return null;
        return number;
    }

    /// <summary>Sends <paramref name="signal"/> to the container: through its monitor where that is exact (no process
    /// started), else with `runtime kill`. Null when the monitor took it.</summary>
    private static RuntimeResult? SignalContainer(ContainerRecord record, RuntimeClient runtime, MonitorHandle? monitor, string signal, bool all = false)
    {
        if (monitor is not null && RelayableSignal(record, signal, all) is int number && monitor.Relay(number)) return null;
        return runtime.Kill(record.Id, signal, all);
    }
}
