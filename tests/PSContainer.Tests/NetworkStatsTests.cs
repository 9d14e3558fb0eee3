using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Api;
using PSContainer.Engine;
using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Several networks at create (API 1.44's EndpointsConfig with N entries, -Network a,b) and docker stats' per-interface
/// and per-CPU figures, read from the kernel's files in the formats Documentation/admin-guide/cgroup-v1/cpuacct.rst,
/// Documentation/scheduler/sched-bwc.rst, Documentation/admin-guide/cgroup-v2.rst and proc(5)'s /proc/net/dev give
/// (this host is cgroup v1, so v2 is testable only this way).
/// </summary>
public sealed class NetworkStatsTests : IDisposable
{
    private const string Container = "pscontainer/abc123";
    private readonly TempDir root = new();

    public void Dispose() => root.Dispose();

    private static ContainerOptions Map(string json, string version)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.True(ApiVersion.TryParse(version, out var v));
        using (ApiVersion.Use(v))
            return CreateRequestMapper.Map(doc.RootElement, null);
    }

    // docker 28's run --network a --network name=b,alias=web,ip=10.89.7.9 --network-alias x (the legacy alias goes to the first).
    private const string TwoNetworks = @"{""Image"":""busybox"",""HostConfig"":{""NetworkMode"":""a""},""NetworkingConfig"":{""EndpointsConfig"":{
        ""a"":{""IPAMConfig"":null,""Links"":null,""Aliases"":[""x""],""MacAddress"":"""",""DriverOpts"":null,""NetworkID"":"""",""EndpointID"":"""",
             ""Gateway"":"""",""IPAddress"":"""",""IPPrefixLen"":0,""IPv6Gateway"":"""",""GlobalIPv6Address"":"""",""GlobalIPv6PrefixLen"":0,""DNSNames"":null},
        ""b"":{""IPAMConfig"":{""IPv4Address"":""10.89.7.9""},""Aliases"":[""web""],""MacAddress"":""""}}}}";

    [Fact]
    public void JoinsEveryEndpointFromApi144()
    {
        var o = Map(TwoNetworks, "1.44");
        Assert.Equal("a", o.Network);
        Assert.Equal(["x"], o.NetworkAliases);
        Assert.Null(o.IPAddress);
        var b = Assert.Single(o.MoreNetworks);
        Assert.Equal("b", b.Network);
        Assert.Equal("10.89.7.9", b.IPAddress);
        Assert.Equal(["web"], b.Aliases);
    }

    [Fact]
    public void RefusesSeveralEndpointsBeforeApi144WithDockerdsMessage()
    {
        var e = Assert.Throws<ApiException>(() => Map(TwoNetworks, "1.43"));
        Assert.Equal(400, e.Status);
        Assert.Equal("Container cannot be connected to network endpoints: a, b", e.Message);
    }

    [Fact]
    public void AnEndpointBesidesNetworkModeIsJoinedFromApi144AndRefusedBefore()
    {
        const string json = @"{""Image"":""b"",""HostConfig"":{""NetworkMode"":""a""},""NetworkingConfig"":{""EndpointsConfig"":{""b"":{""Aliases"":[""y""]}}}}";
        var o = Map(json, "1.44");
        Assert.Equal("a", o.Network);
        Assert.Empty(o.NetworkAliases);
        Assert.Equal("b", Assert.Single(o.MoreNetworks).Network);
        Assert.Contains("EndpointsConfig.b", Assert.Throws<ApiException>(() => Map(json, "1.41")).Message);
    }

    [Fact]
    public void WithoutNetworkModeTheFirstEndpointIsTheContainersNetwork()
    {
        var o = Map(@"{""Image"":""b"",""NetworkingConfig"":{""EndpointsConfig"":{""n1"":{""Aliases"":[""p""]},""n2"":{}}}}", "1.44");
        Assert.Equal("n1", o.Network);
        Assert.Equal(["p"], o.NetworkAliases);
        Assert.Equal("n2", Assert.Single(o.MoreNetworks).Network);
    }

    [Fact]
    public void ParsesTheNetworkParameterLikeDockerRun()
    {
        var o = new ContainerOptions { NetworkAliases = ["legacy"] };
        o.SetNetworks(["name=front,alias=f1,alias=f2,ip=10.89.1.5", "back", "name=db,alias=d"]);
        Assert.Equal("front", o.Network);
        Assert.Equal("10.89.1.5", o.IPAddress);
        Assert.Equal(["legacy", "f1", "f2"], o.NetworkAliases);
        Assert.Equal(["back", "db"], o.MoreNetworks.Select(m => m.Network));
        Assert.Equal(["d"], o.MoreNetworks[1].Aliases);
        Assert.Equal("container:web", NetworkAttachment.Parse("container:web").Network);
        Assert.Equal("InvalidNetworkSpec", Assert.Throws<EngineException>(() => NetworkAttachment.Parse("name=x,ip=300.1.1.1")).ErrorId);
        Assert.Equal("InvalidNetworkSpec", Assert.Throws<EngineException>(() => NetworkAttachment.Parse("name=x,mac=aa")).ErrorId);
        var conflict = new ContainerOptions { IPAddress = "10.0.0.1" };
        Assert.Equal("ConflictingNetworkOptions", Assert.Throws<EngineException>(() => conflict.SetNetworks(["name=x,ip=10.0.0.2"])).ErrorId);
    }

    [Fact]
    public void V1CpuacctFilesGiveUserKernelPerCpuAndThrottling()
    {
        // cpuacct.usage_percpu: one nanosecond count per possible CPU; cpuacct.stat in USER_HZ; cpu.stat of CFS bandwidth
        // (kernels from 5.14 add nr_bursts and burst_time).
        root.WriteFile($"cpuacct/{Container}/cpuacct.usage_percpu", "1500000000 250000000 0 \n");
        root.WriteFile($"cpuacct/{Container}/cpuacct.stat", "user 120\nsystem 33\n");
        root.WriteFile($"cpu/{Container}/cpu.stat", "nr_periods 40\nnr_throttled 7\nthrottled_time 81000000\nnr_bursts 0\nburst_time 0\n");
        var cpu = CgroupCpuUsage.Read(new CgroupV1Driver(root.Path), "/" + Container);
        Assert.Equal([1500000000L, 250000000L, 0L], cpu.PerCpuNanoseconds!);
        Assert.Equal(1_200_000_000, cpu.UserNanoseconds);
        Assert.Equal(330_000_000, cpu.KernelNanoseconds);
        Assert.Equal(40, cpu.Periods);
        Assert.Equal(7, cpu.ThrottledPeriods);
        Assert.Equal(81_000_000, cpu.ThrottledNanoseconds);
    }

    [Fact]
    public void V2CpuStatGivesUserKernelAndThrottlingButNoPerCpu()
    {
        // cpu.stat as cgroup-v2.rst lists it with the cpu controller enabled: microseconds.
        root.WriteFile("cgroup.controllers", "cpu io memory pids\n");
        root.WriteFile($"{Container}/cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_periods 12\nnr_throttled 3\n" +
            "throttled_usec 45000\nnr_bursts 0\nburst_usec 0\n");
        var driver = CgroupDriver.Detect(root.Path);
        Assert.Equal(2, driver.Version);
        var cpu = CgroupCpuUsage.Read(driver, Container);
        Assert.Null(cpu.PerCpuNanoseconds);
        Assert.Equal(1_500_000_000, cpu.UserNanoseconds);
        Assert.Equal(500_000_000, cpu.KernelNanoseconds);
        Assert.Equal(12, cpu.Periods);
        Assert.Equal(3, cpu.ThrottledPeriods);
        Assert.Equal(45_000_000, cpu.ThrottledNanoseconds);
        // Without the cpu controller only the three always-present keys are there.
        var bare = CgroupCpuUsage.ParseV2CpuStat("usage_usec 10\nuser_usec 7\nsystem_usec 3\n");
        Assert.Equal((7000L, 3000L, 0L), (bare.UserNanoseconds, bare.KernelNanoseconds, bare.Periods));
        Assert.Equal(CgroupCpuUsage.None, CgroupCpuUsage.Read(driver, "pscontainer/missing"));
    }

    private const string NetDev =
        "Inter-|   Receive                                                |  Transmit\n" +
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
        "    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0\n" +
        "  eth0:    5230      41    1    2    0     0          0         0     1902      17    3    4    0     0       0          0\n" +
        "  eth1:     980       9    0    0    0     0          0         0      666       5    0    1    0     0       0          0\n";

    [Fact]
    public void NetDevIsReadPerInterfaceWithoutLoopback()
    {
        var all = ContainerStatistics.ParseNetDevInterfaces(NetDev);
        Assert.Equal(["eth0", "eth1"], all.Select(i => i.Name));
        Assert.Equal(new InterfaceCounters("eth0", 5230, 41, 1, 2, 1902, 17, 3, 4), all[0]);
        Assert.Equal((6210L, 2568L), ContainerStatistics.ParseNetDev(NetDev));
    }

    private static ContainerSample Sample(IReadOnlyList<long>? perCpu) =>
        new ContainerSample("c".PadRight(64, '0'), "web", true, DateTime.UtcNow, new CgroupStats(1000, 5_000_000, 2, 0), null, 6210, 2568, 99)
        {
            Cpu = new CgroupCpuUsage(3_000_000, 2_000_000, perCpu, 0, 0, 0),
            Interfaces = ContainerStatistics.ParseNetDevInterfaces(NetDev),
        };

    [Fact]
    public void StatsJsonHasANetworkPerInterfaceAndPerCpuOnlyOnV1()
    {
        var v1 = StatsEndpoints.ToJson(new StatsReading(null, Sample([4_000_000, 1_000_000])), "id", "web", 2, 1 << 30, 1);
        var networks = v1["networks"]!.AsObject();
        Assert.Equal(["eth0", "eth1"], networks.Select(n => n.Key));
        Assert.Equal(41, networks["eth0"]!["rx_packets"]!.GetValue<long>());
        Assert.Equal(4, networks["eth0"]!["tx_dropped"]!.GetValue<long>());
        Assert.Equal(666, networks["eth1"]!["tx_bytes"]!.GetValue<long>());
        var usage = v1["cpu_stats"]!["cpu_usage"]!;
        Assert.Equal([4_000_000L, 1_000_000L], usage["percpu_usage"]!.AsArray().Select(n => n!.GetValue<long>()));
        Assert.Equal(2_000_000, usage["usage_in_kernelmode"]!.GetValue<long>());
        Assert.Equal(3_000_000, usage["usage_in_usermode"]!.GetValue<long>());

        // Get-ContainerStatistics carries the same per-interface and per-CPU figures.
        var statistics = ContainerStatistics.From(Sample(null), Sample([4_000_000, 1_000_000]), 2, 1 << 30);
        Assert.Equal(["eth0", "eth1"], statistics.Networks.Select(n => n.Name));
        Assert.Equal([4_000_000L, 1_000_000L], statistics.PerCpuUsage!);

        var v2 = StatsEndpoints.ToJson(new StatsReading(null, Sample(null)), "id", "web", 2, 1 << 30, 2);
        Assert.False(((JsonObject)v2["cpu_stats"]!["cpu_usage"]!).ContainsKey("percpu_usage"));
    }
}
