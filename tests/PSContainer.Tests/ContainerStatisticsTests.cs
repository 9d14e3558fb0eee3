using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Get-ContainerStatistics' reading of the kernel's files, in the formats Documentation/admin-guide/cgroup-v2.rst
/// and the v1 blkio/memory documents give (this host is cgroup v1, so v2 is only testable this way), and docker's
/// arithmetic on two readings.
/// </summary>
public sealed class ContainerStatisticsTests : IDisposable
{
    private const string Container = "pscontainer/abc123";
    private readonly TempDir root = new();

    public void Dispose() => root.Dispose();

    private void Write(string relative, string content)
    {
        string path = root.Combine(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.EndsWith('\n') ? content : content + "\n");
    }

    [Fact]
    public void V2MemoryStatAndIoStat()
    {
        Write("cgroup.controllers", "cpu io memory pids");
        Write($"{Container}/memory.current", "10485760");
        // memory.stat as the v2 document lists it: inactive_file is the cache docker leaves out.
        Write($"{Container}/memory.stat", "anon 3145728\nfile 7340032\nkernel 262144\nshmem 0\nfile_mapped 0\nfile_dirty 0\n" +
            "active_anon 3145728\ninactive_file 4194304\nactive_file 3145728\nunevictable 0\npgfault 1200");
        // io.stat: one line per device, key=value pairs; dbytes (discards) are not reads or writes.
        Write($"{Container}/io.stat", "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n" +
            "8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021");
        Write($"{Container}/cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000");
        Write($"{Container}/pids.current", "4");

        var stats = new CgroupV2Driver(root.Path).ReadStats(Container);
        Assert.Equal(10485760, stats.MemoryUsageBytes);
        Assert.Equal(4194304, stats.MemoryInactiveFileBytes);
        Assert.Equal(10485760 - 4194304, stats.MemoryWorkingSetBytes);
        Assert.Equal(1459200 + 90430464, stats.BlockReadBytes);
        Assert.Equal(314773504 + 299008000, stats.BlockWriteBytes);
        Assert.Equal(2_000_000_000, stats.CpuUsageNanoseconds);
        Assert.Equal(4, stats.PidsCurrent);
    }

    [Fact]
    public void V2WithoutIoStatReadsNoBlockIo()
    {
        Write("cgroup.controllers", "cpu memory pids");
        Write($"{Container}/memory.current", "4096");
        var stats = new CgroupV2Driver(root.Path).ReadStats(Container);
        Assert.Equal(0, stats.BlockReadBytes);
        Assert.Equal(0, stats.BlockWriteBytes);
        Assert.Equal(4096, stats.MemoryWorkingSetBytes);
    }

    [Fact]
    public void V1TotalInactiveFileAndThrottleBytes()
    {
        foreach (string c in new[] { "memory", "cpuacct", "pids", "blkio" }) Write($"{c}/cgroup.procs", "1");
        Write($"memory/{Container}/memory.usage_in_bytes", "20971520");
        // inactive_file is this cgroup's own; total_inactive_file includes its children: docker takes the total.
        Write($"memory/{Container}/memory.stat", "cache 8388608\nrss 12582912\ninactive_file 1\ntotal_cache 8388608\ntotal_inactive_file 6291456");
        // CFQ/BFQ counters empty (no proportional scheduler): the throttle counters are read instead.
        Write($"blkio/{Container}/blkio.io_service_bytes_recursive", "Total 0");
        Write($"blkio/{Container}/blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n" +
            "254:0 Read 100\n254:0 Write 200\n254:0 Sync 300\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 300\nTotal 12588");

        var stats = new CgroupV1Driver(root.Path).ReadStats(Container);
        Assert.Equal(6291456, stats.MemoryInactiveFileBytes);
        Assert.Equal(20971520 - 6291456, stats.MemoryWorkingSetBytes);
        Assert.Equal(4196, stats.BlockReadBytes);
        Assert.Equal(8392, stats.BlockWriteBytes);
    }

    [Fact]
    public void WorkingSetNeverGoesBelowZero()
    {
        var stats = new CgroupStats(100, 0, 0, 0) { MemoryInactiveFileBytes = 500 };
        Assert.Equal(100, stats.MemoryWorkingSetBytes);
    }

    [Fact]
    public void CpuPercentIsDockersFormula()
    {
        var t0 = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        // 2 CPUs, 1 s: the system spent 2 s of CPU; the container 0.5 s, so 25% of the system times 2 CPUs = 50%.
        var before = new ContainerSample("id", "web", true, t0, new CgroupStats(0, 1_000_000_000, 1, 0), null, 0, 0, 10_000_000_000);
        var after = new ContainerSample("id", "web", true, t0.AddSeconds(1), new CgroupStats(4096, 1_500_000_000, 2, 0) { MemoryInactiveFileBytes = 1024 },
            8192, 10, 20, 12_000_000_000);
        var s = ContainerStatistics.From(before, after, onlineCpus: 2, hostMemory: 1 << 30);
        Assert.Equal(50.0, s.CpuPercent, 6);
        Assert.Equal(3072, s.MemoryUsage);
        Assert.Equal(8192, s.MemoryLimit);
        Assert.Equal(37.5, s.MemoryPercent, 6);
        Assert.Equal(10, s.NetworkReceived);
        Assert.Equal(20, s.NetworkSent);
        Assert.Equal(2, s.Pids);

        // No limit: the host's memory is the limit, as docker shows it.
        var unlimited = ContainerStatistics.From(before, after with { MemoryLimit = null }, 2, 1 << 20);
        Assert.Equal(1 << 20, unlimited.MemoryLimit);
    }

    [Fact]
    public void AStoppedContainerReadsAsZeros()
    {
        var t0 = DateTime.UtcNow;
        var before = new ContainerSample("id", "web", true, t0, new CgroupStats(4096, 5, 1, 0), null, 0, 0, 1);
        var after = ContainerSample.Empty("id", "web", t0.AddSeconds(1), 2);
        var s = ContainerStatistics.From(before, after, 2, 1 << 30);
        Assert.Equal(0, s.CpuPercent);
        Assert.Equal(0, s.MemoryUsage);
        Assert.Equal(0, s.MemoryPercent);
        Assert.False(s.Running);
    }

    [Fact]
    public void SystemCpuSumsTheFirstSevenFieldsOfTheCpuLine()
    {
        const string stat = "cpu  100 20 30 400 5 6 7 8 0 0\ncpu0 50 10 15 200 2 3 3 4 0 0\nintr 1 2 3\nbtime 1700000000\n";
        Assert.Equal((100 + 20 + 30 + 400 + 5 + 6 + 7) * 10_000_000L, ContainerStatistics.ParseSystemCpu(stat, 100));
    }

    [Fact]
    public void NetDevSkipsLoopbackAndHeaders()
    {
        const string dev = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
              eth0:    5000      40    0    0    0     0          0         0     3000      30    0    0    0     0       0          0
              eth1:     700       4    0    0    0     0          0         0      300       3    0    0    0     0       0          0
            """;
        Assert.Equal((5700L, 3300L), ContainerStatistics.ParseNetDev(dev));
    }

    [Theory]
    [InlineData(0, "0B", "0B")]
    [InlineData(1536, "1.5KiB", "1.54kB")]
    [InlineData(10485760, "10MiB", "10.5MB")]
    public void SizesAreShownAsDockerShowsThem(long bytes, string binary, string decimalSize)
    {
        Assert.Equal(binary, ContainerStatistics.BinarySize(bytes));
        Assert.Equal(decimalSize, ContainerStatistics.DecimalSize(bytes));
    }
}
