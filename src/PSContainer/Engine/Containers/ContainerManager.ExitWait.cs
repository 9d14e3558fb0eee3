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
}
