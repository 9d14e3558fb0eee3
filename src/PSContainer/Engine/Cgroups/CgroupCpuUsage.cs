using System.Globalization;

namespace PSContainer.Engine.Cgroups;

/// <summary>
/// The parts of a cgroup's CPU time docker stats reports besides the total: user and kernel time, each CPU's share
/// (cgroup v1 only: v2 has no per-CPU file, and docker leaves percpu_usage out there) and CFS throttling.
/// </summary>
public sealed record CgroupCpuUsage(long UserNanoseconds, long KernelNanoseconds, IReadOnlyList<long>? PerCpuNanoseconds,
    long Periods, long ThrottledPeriods, long ThrottledNanoseconds)
{
    public static readonly CgroupCpuUsage None = new(0, 0, null, 0, 0, 0);

    /// <summary>Clock ticks per second of cpuacct.stat (USER_HZ): 100 on every Linux architecture .NET runs on.</summary>
    public const long UserHz = 100;

    /// <summary>Reads a container's cgroup through the host's driver; missing files read as zeros.</summary>
    public static CgroupCpuUsage Read(CgroupDriver driver, string cgroupPath)
    {
        string relative = cgroupPath.TrimStart('/');
        if (driver.Version == 2)
            return ParseV2CpuStat(Text(Path.Combine(driver.MountRoot, relative, "cpu.stat")));
        string cpuacct = Path.Combine(driver.MountRoot, "cpuacct", relative), cpu = Path.Combine(driver.MountRoot, "cpu", relative);
        var (user, kernel) = ParseV1CpuacctStat(Text(Path.Combine(cpuacct, "cpuacct.stat")));
        var (periods, throttled, throttledTime) = ParseV1CpuStat(Text(Path.Combine(cpu, "cpu.stat")));
        return new CgroupCpuUsage(user, kernel, ParseV1PerCpu(Text(Path.Combine(cpuacct, "cpuacct.usage_percpu"))), periods, throttled, throttledTime);
    }

    private static string? Text(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>v1 cpuacct.usage_percpu: nanoseconds per possible CPU, space-separated on one line. Null when absent.</summary>
    public static IReadOnlyList<long>? ParseV1PerCpu(string? text) =>
        text is null ? null : text.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToList();

    /// <summary>v1 cpuacct.stat: "user TICKS" and "system TICKS" in USER_HZ, as nanoseconds.</summary>
    public static (long User, long Kernel) ParseV1CpuacctStat(string? text)
    {
        var keys = FlatKeys(text);
        const long tick = 1_000_000_000 / UserHz;
        return (keys.GetValueOrDefault("user") * tick, keys.GetValueOrDefault("system") * tick);
    }

    /// <summary>v1 cpu.stat (CFS bandwidth): nr_periods, nr_throttled and throttled_time (already nanoseconds).</summary>
    public static (long Periods, long Throttled, long ThrottledNanoseconds) ParseV1CpuStat(string? text)
    {
        var keys = FlatKeys(text);
        return (keys.GetValueOrDefault("nr_periods"), keys.GetValueOrDefault("nr_throttled"), keys.GetValueOrDefault("throttled_time"));
    }

    /// <summary>
    /// v2 cpu.stat: user_usec and system_usec (always there), nr_periods, nr_throttled and throttled_usec (with the cpu
    /// controller enabled), all in microseconds, here nanoseconds. No per-CPU figures exist in v2.
    /// </summary>
    public static CgroupCpuUsage ParseV2CpuStat(string? text)
    {
        var keys = FlatKeys(text);
        return new CgroupCpuUsage(keys.GetValueOrDefault("user_usec") * 1000, keys.GetValueOrDefault("system_usec") * 1000, null,
            keys.GetValueOrDefault("nr_periods"), keys.GetValueOrDefault("nr_throttled"), keys.GetValueOrDefault("throttled_usec") * 1000);
    }

    /// <summary>A flat-keyed file ("key value" per line); lines that are not are skipped, a later duplicate wins.</summary>
    private static Dictionary<string, long> FlatKeys(string? text)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2 && long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)) result[f[0]] = v;
        }
        return result;
    }
}
