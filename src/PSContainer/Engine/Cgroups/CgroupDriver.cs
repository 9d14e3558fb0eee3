using System.Globalization;

namespace PSContainer.Engine.Cgroups;

/// <summary>Resource limits of a cgroup as the kernel reports them (null = unlimited / not set).</summary>
public sealed record CgroupLimits(long? MemoryBytes, long? MemoryAndSwapBytes, long? CpuQuotaMicroseconds, long CpuPeriodMicroseconds,
    long? CpuShares, long? CpuWeight, long? Pids)
{
    /// <summary>CPUs the quota allows (docker's --cpus), null when unlimited.</summary>
    public double? Cpus => CpuQuotaMicroseconds is long q && CpuPeriodMicroseconds > 0 ? (double)q / CpuPeriodMicroseconds : null;
}

/// <summary>Usage counters of a cgroup.</summary>
public sealed record CgroupStats(long MemoryUsageBytes, long CpuUsageNanoseconds, long PidsCurrent, long OomKills)
{
    /// <summary>Page cache the kernel can drop at once (v1 total_inactive_file, v2 inactive_file of memory.stat).</summary>
    public long MemoryInactiveFileBytes { get; init; }

    /// <summary>Bytes read from and written to block devices (v1 blkio io_service_bytes, v2 io.stat rbytes/wbytes).</summary>
    public long BlockReadBytes { get; init; }

    public long BlockWriteBytes { get; init; }

    /// <summary>Usage as docker stats shows it: without the inactive page cache, which is not the container's working set.</summary>
    public long MemoryWorkingSetBytes => MemoryInactiveFileBytes < MemoryUsageBytes ? MemoryUsageBytes - MemoryInactiveFileBytes : MemoryUsageBytes;
}

/// <summary>
/// Reads a container's cgroup. Two drivers: cgroup v1 (one hierarchy per controller, this is what older hosts and
/// hybrid set-ups have) and v2 (the unified hierarchy most users have). Chosen by what the host has mounted.
/// The runtime creates and fills the cgroup; the engine only reads it, from the same files the runtime wrote.
/// </summary>
public abstract class CgroupDriver
{
    protected CgroupDriver(string mountRoot) => MountRoot = mountRoot;

    public string MountRoot { get; }
    public abstract int Version { get; }

    public static CgroupDriver Detect(string mountRoot = "/sys/fs/cgroup") =>
        File.Exists(Path.Combine(mountRoot, "cgroup.controllers")) ? new CgroupV2Driver(mountRoot) : new CgroupV1Driver(mountRoot);

    /// <summary>Every directory that holds this cgroup (one per v1 hierarchy, or the single v2 one) that exists now.</summary>
    public abstract IReadOnlyList<string> Directories(string cgroupPath);

    public bool Exists(string cgroupPath) => Directories(cgroupPath).Count > 0;

    public abstract CgroupLimits ReadLimits(string cgroupPath);
    public abstract CgroupStats ReadStats(string cgroupPath);

    protected string Join(string controllerRoot, string cgroupPath) => Path.Combine(controllerRoot, cgroupPath.TrimStart('/'));

    protected static string? ReadText(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : null;

    /// <summary>A number, or null for "max" (v2) or a missing file.</summary>
    protected static long? ReadNumber(string file)
    {
        string? text = ReadText(file);
        if (text is null || text == "max") return null;
        return long.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>A "key value" line of a flat-keyed file such as memory.events or cpu.stat.</summary>
    public static long? ReadKey(string file, string key)
    {
        if (!File.Exists(file)) return null;
        foreach (string line in File.ReadLines(file))
        {
            int space = line.IndexOf(' ');
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key))
                return long.Parse(line.AsSpan(space + 1).Trim(), CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>runc's mapping of cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000).</summary>
    public static long SharesToWeight(long shares) => shares == 0 ? 100 : 1 + (Math.Clamp(shares, 2, 262144) - 2) * 9999 / 262142;
}

public sealed class CgroupV1Driver(string mountRoot) : CgroupDriver(mountRoot)
{
    /// <summary>v1 reports "no limit" as the largest page-aligned long.</summary>
    private const long Unlimited = 0x7FFFFFFFFFFFF000;

    public override int Version => 1;

    private string Controller(string name, string cgroupPath) => Join(Path.Combine(MountRoot, name), cgroupPath);

    public override IReadOnlyList<string> Directories(string cgroupPath)
    {
        if (!Directory.Exists(MountRoot)) return [];
        return Directory.EnumerateDirectories(MountRoot)
            // Every hierarchy, the unified (v2) one of a hybrid host included: psc-runtime makes the container's
            // cgroup there too, and clean-up that skipped it left one behind whenever the runtime could not.
            .Where(root => File.Exists(Path.Combine(root, "cgroup.procs")))
            .Select(root => Join(root, cgroupPath))
            .Where(Directory.Exists)
            .ToList();
    }

    private static long? Limit(long? value) => value is long v && v < Unlimited && v >= 0 ? v : null;

    public override CgroupLimits ReadLimits(string cgroupPath)
    {
        string memory = Controller("memory", cgroupPath), cpu = Controller("cpu", cgroupPath), pids = Controller("pids", cgroupPath);
        long? quota = ReadNumber(Path.Combine(cpu, "cpu.cfs_quota_us"));
        return new CgroupLimits(
            Limit(ReadNumber(Path.Combine(memory, "memory.limit_in_bytes"))),
            Limit(ReadNumber(Path.Combine(memory, "memory.memsw.limit_in_bytes"))),
            quota is long q && q > 0 ? q : null,
            ReadNumber(Path.Combine(cpu, "cpu.cfs_period_us")) ?? 100000,
            ReadNumber(Path.Combine(cpu, "cpu.shares")),
            null,
            ReadNumber(Path.Combine(pids, "pids.max")));
    }

    public override CgroupStats ReadStats(string cgroupPath)
    {
        string memory = Controller("memory", cgroupPath);
        var stats = new CgroupStats(
            ReadNumber(Path.Combine(memory, "memory.usage_in_bytes")) ?? 0,
            ReadNumber(Path.Combine(Controller("cpuacct", cgroupPath), "cpuacct.usage")) ?? 0,
            ReadNumber(Path.Combine(Controller("pids", cgroupPath), "pids.current")) ?? 0,
            ReadKey(Path.Combine(memory, "memory.oom_control"), "oom_kill") ?? 0)
        {
            MemoryInactiveFileBytes = ReadKey(Path.Combine(memory, "memory.stat"), "total_inactive_file") ?? 0,
        };
        return WithBlockIo(stats, cgroupPath);
    }

    /// <summary>
    /// Bytes by direction from the blkio controller. The proportional-weight files (CFQ/BFQ) count I/O only under
    /// those schedulers; the throttle files count it under any, so they are read when the first have no data, as runc does.
    /// </summary>
    private CgroupStats WithBlockIo(CgroupStats stats, string cgroupPath)
    {
        string blkio = Controller("blkio", cgroupPath);
        foreach (string name in new[] { "blkio.bfq.io_service_bytes_recursive", "blkio.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes" })
        {
            if (ParseV1BlkioBytes(ReadText(Path.Combine(blkio, name))) is (long read, long write))
                return stats with { BlockReadBytes = read, BlockWriteBytes = write };
        }
        return stats;
    }

    /// <summary>"MAJ:MIN Op bytes" lines (and a closing "Total n"): Read and Write summed over devices, null without any device line.</summary>
    public static (long Read, long Write)? ParseV1BlkioBytes(string? text)
    {
        if (text is null) return null;
        long read = 0, write = 0;
        bool any = false;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !f[0].Contains(':')) continue;
            any = true;
            long value = long.Parse(f[2], CultureInfo.InvariantCulture);
            if (f[1] == "Read") read += value;
            else if (f[1] == "Write") write += value;
        }
        return any ? (read, write) : null;
    }
}

public sealed class CgroupV2Driver(string mountRoot) : CgroupDriver(mountRoot)
{
    public override int Version => 2;

    public override IReadOnlyList<string> Directories(string cgroupPath)
    {
        string dir = Join(MountRoot, cgroupPath);
        return Directory.Exists(dir) ? [dir] : [];
    }

    public override CgroupLimits ReadLimits(string cgroupPath)
    {
        string dir = Join(MountRoot, cgroupPath);
        // cpu.max is "$MAX $PERIOD" where $MAX is "max" or microseconds.
        long? quota = null;
        long period = 100000;
        if (ReadText(Path.Combine(dir, "cpu.max")) is string cpuMax)
        {
            string[] parts = cpuMax.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && parts[0] != "max") quota = long.Parse(parts[0], CultureInfo.InvariantCulture);
            if (parts.Length > 1) period = long.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        long? memory = ReadNumber(Path.Combine(dir, "memory.max"));
        long? swap = ReadNumber(Path.Combine(dir, "memory.swap.max"));
        return new CgroupLimits(
            memory,
            // v2 limits swap alone; report memory+swap as v1 (and docker) do.
            memory is long m && swap is long s ? m + s : null,
            quota,
            period,
            null,
            ReadNumber(Path.Combine(dir, "cpu.weight")),
            ReadNumber(Path.Combine(dir, "pids.max")));
    }

    public override CgroupStats ReadStats(string cgroupPath)
    {
        string dir = Join(MountRoot, cgroupPath);
        var (read, write) = ParseIoStat(ReadText(Path.Combine(dir, "io.stat")));
        return new CgroupStats(
            ReadNumber(Path.Combine(dir, "memory.current")) ?? 0,
            (ReadKey(Path.Combine(dir, "cpu.stat"), "usage_usec") ?? 0) * 1000,
            ReadNumber(Path.Combine(dir, "pids.current")) ?? 0,
            ReadKey(Path.Combine(dir, "memory.events"), "oom_kill") ?? 0)
        {
            MemoryInactiveFileBytes = ReadKey(Path.Combine(dir, "memory.stat"), "inactive_file") ?? 0,
            BlockReadBytes = read,
            BlockWriteBytes = write,
        };
    }

    /// <summary>io.stat: one "MAJ:MIN key=value ..." line per device; rbytes and wbytes summed over devices.</summary>
    public static (long Read, long Write) ParseIoStat(string? text)
    {
        long read = 0, write = 0;
        foreach (string line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string field in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                int eq = field.IndexOf('=');
                if (eq <= 0) continue;
                var key = field.AsSpan(0, eq);
                if (key.SequenceEqual("rbytes")) read += long.Parse(field.AsSpan(eq + 1), CultureInfo.InvariantCulture);
                else if (key.SequenceEqual("wbytes")) write += long.Parse(field.AsSpan(eq + 1), CultureInfo.InvariantCulture);
            }
        }
        return (read, write);
    }
}
