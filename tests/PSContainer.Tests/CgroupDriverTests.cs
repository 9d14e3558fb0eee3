using PSContainer.Engine.Cgroups;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// The cgroup drivers against fake cgroup trees written in the kernel's documented file formats
/// (Documentation/admin-guide/cgroup-v2.rst and the cgroup-v1 controller documents).
/// </summary>
public sealed class CgroupDriverTests : IDisposable
{
    private const string Container = "pscontainer/abc123";
    private readonly TempDir root = new();

    public void Dispose() => root.Dispose();

    /// <summary>Writes a file the way the kernel shows it: the value and a trailing newline.</summary>
    private void Write(string relative, string content)
    {
        string path = root.Combine(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.EndsWith('\n') ? content : content + "\n");
    }

    // ---- v2 ---------------------------------------------------------------------------------------------------

    private string V2Dir => $"{Container}";

    private void V2Root() => Write("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc");

    [Fact]
    public void DetectChoosesV2WhenTheRootHasCgroupControllers()
    {
        V2Root();
        var driver = CgroupDriver.Detect(root.Path);
        Assert.IsType<CgroupV2Driver>(driver);
        Assert.Equal(2, driver.Version);
        Assert.Equal(root.Path, driver.MountRoot);
    }

    [Fact]
    public void DetectChoosesV1WithoutCgroupControllers()
    {
        Write("memory/cgroup.procs", "1");
        // A hybrid host mounts the unified hierarchy below the root; that alone does not make it v2.
        Write("unified/cgroup.controllers", "");
        var driver = CgroupDriver.Detect(root.Path);
        Assert.IsType<CgroupV1Driver>(driver);
        Assert.Equal(1, driver.Version);
    }

    [Fact]
    public void V2UnlimitedValues()
    {
        V2Root();
        Write($"{V2Dir}/memory.max", "max");
        Write($"{V2Dir}/memory.swap.max", "max");
        Write($"{V2Dir}/cpu.max", "max 100000");
        Write($"{V2Dir}/cpu.weight", "100");
        Write($"{V2Dir}/pids.max", "max");

        var limits = new CgroupV2Driver(root.Path).ReadLimits(Container);
        Assert.Null(limits.MemoryBytes);
        Assert.Null(limits.MemoryAndSwapBytes);
        Assert.Null(limits.CpuQuotaMicroseconds);
        Assert.Equal(100000, limits.CpuPeriodMicroseconds);
        Assert.Null(limits.Cpus);
        Assert.Null(limits.CpuShares);
        Assert.Equal(100, limits.CpuWeight);
        Assert.Null(limits.Pids);
    }

    [Fact]
    public void V2Limits()
    {
        V2Root();
        Write($"{V2Dir}/memory.max", "67108864");
        Write($"{V2Dir}/memory.swap.max", "67108864");
        Write($"{V2Dir}/cpu.max", "150000 100000");
        Write($"{V2Dir}/cpu.weight", "39");
        Write($"{V2Dir}/pids.max", "64");

        var limits = new CgroupV2Driver(root.Path).ReadLimits("/" + Container);
        Assert.Equal(67108864, limits.MemoryBytes);
        // v2 limits swap alone; the driver reports memory+swap as v1 and docker do.
        Assert.Equal(2 * 67108864L, limits.MemoryAndSwapBytes);
        Assert.Equal(150000, limits.CpuQuotaMicroseconds);
        Assert.Equal(100000, limits.CpuPeriodMicroseconds);
        Assert.Equal(1.5, limits.Cpus);
        Assert.Equal(39, limits.CpuWeight);
        Assert.Equal(64, limits.Pids);
    }

    [Fact]
    public void V2NoSwapIsMemoryOnly()
    {
        V2Root();
        Write($"{V2Dir}/memory.max", "1048576");
        Write($"{V2Dir}/memory.swap.max", "0");
        Write($"{V2Dir}/cpu.max", "50000 200000");
        var limits = new CgroupV2Driver(root.Path).ReadLimits(Container);
        Assert.Equal(1048576, limits.MemoryBytes);
        Assert.Equal(1048576, limits.MemoryAndSwapBytes);
        Assert.Equal(0.25, limits.Cpus);
        Assert.Equal(200000, limits.CpuPeriodMicroseconds);
    }

    [Fact]
    public void V2MissingFilesMeanUnlimited()
    {
        V2Root();
        Directory.CreateDirectory(root.Combine("pscontainer", "abc123"));
        var limits = new CgroupV2Driver(root.Path).ReadLimits(Container);
        Assert.Equal(new CgroupLimits(null, null, null, 100000, null, null, null), limits);
        Assert.Equal(new CgroupStats(0, 0, 0, 0), new CgroupV2Driver(root.Path).ReadStats(Container));
    }

    [Fact]
    public void V2Stats()
    {
        V2Root();
        Write($"{V2Dir}/memory.current", "4243456");
        Write($"{V2Dir}/memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0");
        Write($"{V2Dir}/cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0");
        Write($"{V2Dir}/pids.current", "3");

        var stats = new CgroupV2Driver(root.Path).ReadStats(Container);
        Assert.Equal(4243456, stats.MemoryUsageBytes);
        Assert.Equal(123456L * 1000, stats.CpuUsageNanoseconds);
        Assert.Equal(3, stats.PidsCurrent);
        Assert.Equal(1, stats.OomKills);
    }

    [Fact]
    public void V2Directories()
    {
        V2Root();
        var driver = new CgroupV2Driver(root.Path);
        Assert.Empty(driver.Directories(Container));
        Assert.False(driver.Exists(Container));
        string dir = root.CreateDirectory("pscontainer", "abc123");
        Assert.Equal([dir], driver.Directories(Container));
        Assert.Equal([dir], driver.Directories("/" + Container));
        Assert.True(driver.Exists(Container));
    }

    // ---- v1 ---------------------------------------------------------------------------------------------------

    private static readonly string[] V1Controllers = ["memory", "cpu", "cpuacct", "pids", "devices"];

    private void V1Root()
    {
        foreach (string c in V1Controllers) Write($"{c}/cgroup.procs", "1");
        Write("unified/cgroup.procs", "1");
    }

    [Fact]
    public void V1UnlimitedValues()
    {
        V1Root();
        Write($"memory/{Container}/memory.limit_in_bytes", "9223372036854771712");
        Write($"memory/{Container}/memory.memsw.limit_in_bytes", "9223372036854771712");
        Write($"cpu/{Container}/cpu.cfs_quota_us", "-1");
        Write($"cpu/{Container}/cpu.cfs_period_us", "100000");
        Write($"cpu/{Container}/cpu.shares", "1024");
        Write($"pids/{Container}/pids.max", "max");

        var driver = new CgroupV1Driver(root.Path);
        Assert.Equal(1, driver.Version);
        var limits = driver.ReadLimits(Container);
        Assert.Null(limits.MemoryBytes);
        Assert.Null(limits.MemoryAndSwapBytes);
        Assert.Null(limits.CpuQuotaMicroseconds);
        Assert.Null(limits.Cpus);
        Assert.Equal(100000, limits.CpuPeriodMicroseconds);
        Assert.Equal(1024, limits.CpuShares);
        Assert.Null(limits.CpuWeight);
        Assert.Null(limits.Pids);
    }

    [Fact]
    public void V1Limits()
    {
        V1Root();
        Write($"memory/{Container}/memory.limit_in_bytes", "67108864");
        Write($"memory/{Container}/memory.memsw.limit_in_bytes", "134217728");
        Write($"cpu/{Container}/cpu.cfs_quota_us", "50000");
        Write($"cpu/{Container}/cpu.cfs_period_us", "100000");
        Write($"cpu/{Container}/cpu.shares", "512");
        Write($"pids/{Container}/pids.max", "100");

        var limits = new CgroupV1Driver(root.Path).ReadLimits("/" + Container);
        Assert.Equal(67108864, limits.MemoryBytes);
        Assert.Equal(134217728, limits.MemoryAndSwapBytes);
        Assert.Equal(50000, limits.CpuQuotaMicroseconds);
        Assert.Equal(100000, limits.CpuPeriodMicroseconds);
        Assert.Equal(0.5, limits.Cpus);
        Assert.Equal(512, limits.CpuShares);
        Assert.Equal(100, limits.Pids);
    }

    [Fact]
    public void V1Stats()
    {
        V1Root();
        Write($"memory/{Container}/memory.usage_in_bytes", "8192000");
        // oom_kill_disable must not be mistaken for oom_kill.
        Write($"memory/{Container}/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2");
        Write($"cpuacct/{Container}/cpuacct.usage", "987654321");
        Write($"pids/{Container}/pids.current", "5");

        var stats = new CgroupV1Driver(root.Path).ReadStats(Container);
        Assert.Equal(8192000, stats.MemoryUsageBytes);
        Assert.Equal(987654321, stats.CpuUsageNanoseconds);
        Assert.Equal(5, stats.PidsCurrent);
        Assert.Equal(2, stats.OomKills);
    }

    [Fact]
    public void V1MissingFilesMeanUnlimited()
    {
        V1Root();
        var driver = new CgroupV1Driver(root.Path);
        Assert.Equal(new CgroupLimits(null, null, null, 100000, null, null, null), driver.ReadLimits(Container));
        Assert.Equal(new CgroupStats(0, 0, 0, 0), driver.ReadStats(Container));
    }

    [Fact]
    public void V1DirectoriesAreOnePerHierarchyThatHasTheCgroup()
    {
        V1Root();
        var driver = new CgroupV1Driver(root.Path);
        Assert.Empty(driver.Directories(Container));
        Assert.False(driver.Exists(Container));

        string memory = root.CreateDirectory("memory", "pscontainer", "abc123");
        string pids = root.CreateDirectory("pids", "pscontainer", "abc123");
        // The unified hierarchy of a hybrid host holds the container's cgroup too (psc-runtime makes it there), so
        // removal must reach it; a directory that is not a hierarchy (no cgroup.procs at its root) is not one.
        string unified = root.CreateDirectory("unified", "pscontainer", "abc123");
        root.CreateDirectory("notacgroup", "pscontainer", "abc123");

        var dirs = driver.Directories(Container).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { memory, pids, unified }.Order(StringComparer.Ordinal), dirs);
        Assert.True(driver.Exists("/" + Container));
    }

    [Fact]
    public void V1DirectoriesOfAMissingRootIsEmpty()
    {
        var driver = new CgroupV1Driver(root.Combine("nothing-here"));
        Assert.Empty(driver.Directories(Container));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1024, 39)]
    [InlineData(262144, 10000)]
    public void SharesToWeightMatchesRunc(long shares, long weight)
    {
        // runc (libcontainer/cgroups/utils.go ConvertCPUSharesToCgroupV2Value): 1 + ((shares - 2) * 9999) / 262142.
        Assert.Equal(1 + (shares - 2) * 9999 / 262142, weight);
        Assert.Equal(weight, CgroupDriver.SharesToWeight(shares));
    }

    [Fact]
    public void SharesToWeightClampsOutOfRangeShares()
    {
        Assert.Equal(1, CgroupDriver.SharesToWeight(1));
        Assert.Equal(10000, CgroupDriver.SharesToWeight(1_000_000));
    }

    [Fact]
    public void ReadKeyFindsExactKeys()
    {
        Write("flat", "oom 4\noom_kill 7\noom_group_kill 9");
        Assert.Equal(4, CgroupDriver.ReadKey(root.Combine("flat"), "oom"));
        Assert.Equal(7, CgroupDriver.ReadKey(root.Combine("flat"), "oom_kill"));
        Assert.Null(CgroupDriver.ReadKey(root.Combine("flat"), "oom_ki"));
        Assert.Null(CgroupDriver.ReadKey(root.Combine("missing"), "oom"));
    }
}
