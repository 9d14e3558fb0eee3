using PSContainer.Engine.Cgroups;

namespace PSContainer.Engine.Containers;

/// <summary>Resource readings of running containers (docker stats).</summary>
public sealed partial class ContainerManager
{
    /// <summary>Clock ticks per second of /proc/stat (USER_HZ): 100 on every Linux architecture .NET runs on.</summary>
    private const long UserHz = 100;

    /// <summary>
    /// One reading of a container: its cgroup counters, the network counters of its namespace and the system's CPU
    /// time at the same moment. A container that is not running reads as zeros, as in docker stats.
    /// </summary>
    public ContainerSample Sample(string idOrName)
    {
        var record = Resolve(idOrName);
        long system = SystemCpuNanoseconds();
        var now = DateTime.UtcNow;
        var current = ReconcileIfIdle(record);
        if (current is null || current.State is not (ContainerState.Running or ContainerState.Paused) || current.Pid <= 0)
            return ContainerSample.Empty(record.Id, current?.Name ?? record.Name, now, system);
        string cgroup = CgroupPath(current);
        CgroupStats stats;
        CgroupLimits limits;
        try
        {
            stats = Cgroups.ReadStats(cgroup);
            limits = Cgroups.ReadLimits(cgroup);
        }
        catch (IOException)
        {
            // The container exited between the record and the read: its cgroup went with it.
            return ContainerSample.Empty(record.Id, current.Name, now, system);
        }
        IReadOnlyList<InterfaceCounters> interfaces = [];
        // A host-network container shares the host's namespace: its counters are the host's, not the container's
        // (docker shows none either).
        if (current.Options.Network != "host")
        {
            try
            {
                interfaces = ContainerStatistics.ParseNetDevInterfaces(File.ReadAllText($"/proc/{current.Pid}/net/dev"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile: no network counters, the rest stays.
            }
        }
        CgroupCpuUsage cpu;
        try
        {
            cpu = CgroupCpuUsage.Read(Cgroups, cgroup);
        }
        catch (IOException)
        {
            cpu = CgroupCpuUsage.None;
        }
        return new ContainerSample(record.Id, current.Name, true, now, stats, limits.MemoryBytes,
            interfaces.Sum(i => i.RxBytes), interfaces.Sum(i => i.TxBytes), system)
        {
            Cpu = cpu,
            Interfaces = interfaces,
        };
    }

    /// <summary>The CPU time the whole system has spent, as docker's systemDelta reads it.</summary>
    public static long SystemCpuNanoseconds() => ContainerStatistics.ParseSystemCpu(File.ReadAllText("/proc/stat"), UserHz);

    /// <summary>Memory of the host (MemTotal of /proc/meminfo): docker's limit for a container that has none.</summary>
    public static long HostMemoryBytes()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}
