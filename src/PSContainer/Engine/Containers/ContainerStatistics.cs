using System.Globalization;
using PSContainer.Engine.Cgroups;

namespace PSContainer.Engine.Containers;

/// <summary>One reading of a container's counters: what two readings are needed for (CPU %) is computed from a pair.</summary>
public sealed record ContainerSample(string Id, string Name, bool Running, DateTime Time, CgroupStats Stats, long? MemoryLimit,
    long NetworkReceived, long NetworkSent, long SystemCpuNanoseconds)
{
    public static ContainerSample Empty(string id, string name, DateTime time, long systemCpu) =>
        new(id, name, false, time, new CgroupStats(0, 0, 0, 0), null, 0, 0, systemCpu);

    /// <summary>User and kernel time, per-CPU time (cgroup v1) and throttling.</summary>
    public CgroupCpuUsage Cpu { get; init; } = CgroupCpuUsage.None;

    /// <summary>The counters of each of the container's interfaces but loopback (eth0, eth1...), as docker stats' networks map.</summary>
    public IReadOnlyList<InterfaceCounters> Interfaces { get; init; } = [];
}

/// <summary>One interface's line of /proc/net/dev: what docker's NetworkStats carries.</summary>
public sealed record InterfaceCounters(string Name, long RxBytes, long RxPackets, long RxErrors, long RxDropped,
    long TxBytes, long TxPackets, long TxErrors, long TxDropped);

/// <summary>A container's resource use as docker stats shows it.</summary>
public sealed class ContainerStatistics
{
    public string Id { get; init; } = "";
    public string ShortId => Id.Length >= 12 ? Id[..12] : Id;
    public string Name { get; init; } = "";
    public DateTime Time { get; init; }
    public bool Running { get; init; }
    /// <summary>Share of one CPU over the interval, times the CPUs used (200 = two CPUs busy), as docker computes it.</summary>
    public double CpuPercent { get; init; }
    /// <summary>Memory in use without the inactive page cache (docker's figure).</summary>
    public long MemoryUsage { get; init; }
    /// <summary>The cgroup's memory limit, or the host's memory when the container has none.</summary>
    public long MemoryLimit { get; init; }
    public double MemoryPercent { get; init; }
    public long NetworkReceived { get; init; }
    public long NetworkSent { get; init; }
    public long BlockRead { get; init; }
    public long BlockWrite { get; init; }
    public long Pids { get; init; }
    /// <summary>Each interface's counters (eth0, eth1... one per network), what NetworkReceived/NetworkSent sum.</summary>
    public IReadOnlyList<InterfaceCounters> Networks { get; init; } = [];
    /// <summary>The container's CPU time on each CPU in nanoseconds (cgroup v1's cpuacct.usage_percpu); null on cgroup v2, which has none.</summary>
    public IReadOnlyList<long>? PerCpuUsage { get; init; }

    /// <summary>
    /// docker's calculateCPUPercentUnix: the container's CPU time over the interval divided by the whole system's
    /// (all CPUs, from /proc/stat), times the online CPUs. Memory: usage without inactive page cache, over the limit.
    /// </summary>
    public static ContainerStatistics From(ContainerSample previous, ContainerSample current, int onlineCpus, long hostMemory)
    {
        double cpu = 0;
        long cpuDelta = current.Stats.CpuUsageNanoseconds - previous.Stats.CpuUsageNanoseconds;
        long systemDelta = current.SystemCpuNanoseconds - previous.SystemCpuNanoseconds;
        if (current.Running && previous.Running && cpuDelta > 0 && systemDelta > 0)
            cpu = (double)cpuDelta / systemDelta * onlineCpus * 100.0;
        long limit = current.MemoryLimit ?? hostMemory;
        long usage = current.Running ? current.Stats.MemoryWorkingSetBytes : 0;
        return new ContainerStatistics
        {
            Id = current.Id,
            Name = current.Name,
            Time = current.Time,
            Running = current.Running,
            CpuPercent = cpu,
            MemoryUsage = usage,
            MemoryLimit = current.Running ? limit : 0,
            MemoryPercent = current.Running && limit > 0 ? usage * 100.0 / limit : 0,
            NetworkReceived = current.NetworkReceived,
            NetworkSent = current.NetworkSent,
            BlockRead = current.Stats.BlockReadBytes,
            BlockWrite = current.Stats.BlockWriteBytes,
            Pids = current.Stats.PidsCurrent,
            Networks = current.Interfaces,
            PerCpuUsage = current.Cpu.PerCpuNanoseconds,
        };
    }

    /// <summary>
    /// The CPU time of the whole system in nanoseconds: the first seven fields of /proc/stat's "cpu" line (user nice
    /// system idle iowait irq softirq), in clock ticks, as docker sums them.
    /// </summary>
    public static long ParseSystemCpu(string procStat, long ticksPerSecond)
    {
        foreach (string line in procStat.Split('\n'))
        {
            if (!line.StartsWith("cpu ", StringComparison.Ordinal)) continue;
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long ticks = 0;
            for (int i = 1; i < Math.Min(8, f.Length); i++) ticks += long.Parse(f[i], CultureInfo.InvariantCulture);
            return ticks * (1_000_000_000 / ticksPerSecond);
        }
        throw new FormatException("no cpu line in /proc/stat");
    }

    /// <summary>/proc/PID/net/dev: received and sent bytes over every interface but loopback.</summary>
    public static (long Received, long Sent) ParseNetDev(string text)
    {
        var interfaces = ParseNetDevInterfaces(text);
        return (interfaces.Sum(i => i.RxBytes), interfaces.Sum(i => i.TxBytes));
    }

    /// <summary>
    /// /proc/PID/net/dev per interface but loopback: after "name:", eight receive fields (bytes packets errs drop fifo
    /// frame compressed multicast) and eight transmit fields (bytes packets errs drop fifo colls carrier compressed).
    /// </summary>
    public static IReadOnlyList<InterfaceCounters> ParseNetDevInterfaces(string text)
    {
        var result = new List<InterfaceCounters>();
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue; // the two header lines have none
            string name = line[..colon].Trim();
            if (name == "lo") continue;
            string[] f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 12) continue;
            long N(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            result.Add(new InterfaceCounters(name, N(0), N(1), N(2), N(3), N(8), N(9), N(10), N(11)));
        }
        return result;
    }

    /// <summary>docker's units.BytesSize: binary units, three significant digits ("1.5MiB").</summary>
    public static string BinarySize(long bytes) => Human(bytes, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]);

    /// <summary>docker's units.HumanSizeWithPrecision(…, 3): decimal units ("1.2kB").</summary>
    public static string DecimalSize(long bytes) => Human(bytes, 1000, ["B", "kB", "MB", "GB", "TB", "PB"]);

    private static string Human(long bytes, double unit, string[] names)
    {
        double size = bytes;
        int i = 0;
        while (size >= unit && i < names.Length - 1)
        {
            size /= unit;
            i++;
        }
        return size.ToString("G3", CultureInfo.InvariantCulture) + names[i];
    }

    public override string ToString() => Name;
}
