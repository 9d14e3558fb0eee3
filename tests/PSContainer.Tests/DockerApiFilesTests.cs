using System.Text;
using System.Text.Json;
using PSContainer.Api;
using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The pure mappings of the archive, stats and events endpoints onto docker's shapes, and the event filters.</summary>
public sealed class DockerApiFilesTests
{
    [Theory]
    [InlineData(0x8000u, 0x1A4u, 0x1A4u)]                        // a 0644 file: the permission bits alone
    [InlineData(0x4000u, 0x1EDu, 0x800001EDu)]                   // a 0755 directory: os.ModeDir
    [InlineData(0xA000u, 0x1FFu, 0x080001FFu)]                   // a symlink: os.ModeSymlink
    [InlineData(0x2000u, 0x1B6u, 0x042001B6u)]                   // a character device: ModeDevice|ModeCharDevice
    [InlineData(0x6000u, 0x1B0u, 0x040001B0u)]                   // a block device: ModeDevice
    [InlineData(0x1000u, 0x1A4u, 0x020001A4u)]                   // a fifo: ModeNamedPipe
    [InlineData(0xC000u, 0x1EDu, 0x010001EDu)]                   // a socket: ModeSocket
    [InlineData(0x8000u, 0xDEDu, 0x00C001EDu)]                   // setuid+setgid 0755 file
    [InlineData(0x4000u, 0x3FFu, 0x801001FFu)]                   // 1777 directory: ModeSticky
    public void MapsAUnixModeToGosFileMode(uint type, uint mode, uint expected) =>
        Assert.Equal(expected, ContainerFileEndpoints.GoFileMode(type, mode));

    [Fact]
    public void ThePathStatHeaderIsBase64JsonWithDockersFieldNames()
    {
        var stat = new ContainerPathStat("link", 11, 0xA000, 0x1FF, new DateTimeOffset(2024, 1, 2, 3, 4, 5, 500, TimeSpan.Zero), "/data/a.txt");
        using var doc = JsonDocument.Parse(Convert.FromBase64String(ContainerFileEndpoints.StatHeaderValue(stat)));
        var root = doc.RootElement;
        Assert.Equal("link", root.GetProperty("name").GetString());
        Assert.Equal(11, root.GetProperty("size").GetInt64());
        Assert.Equal(0x080001FFu, root.GetProperty("mode").GetUInt32());
        Assert.Equal("2024-01-02T03:04:05.5Z", root.GetProperty("mtime").GetString());
        Assert.Equal("/data/a.txt", root.GetProperty("linkTarget").GetString());
    }

    private static ContainerSample Sample(long cpu, long system, DateTime time, bool running = true) =>
        new("abc", "web", running, time, new CgroupStats(50 << 20, cpu, 3, 0) { MemoryInactiveFileBytes = 10 << 20, BlockReadBytes = 7, BlockWriteBytes = 9 },
            running ? 64 << 20 : null, 1000, 2000, system)
        {
            // The namespace's one interface, which the totals sum.
            Interfaces = [new InterfaceCounters("eth0", 1000, 10, 0, 0, 2000, 20, 0, 0)],
        };

    [Fact]
    public void StatsCarryWhatTheDockerCliComputesFrom()
    {
        var t = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var json = StatsEndpoints.ToJson(new StatsReading(Sample(1_000, 10_000, t), Sample(501_000, 1_010_000, t.AddSeconds(1))), "abc", "web", 2, 8L << 30, cgroupVersion: 1);
        using var doc = JsonDocument.Parse(json.ToJsonString());
        var r = doc.RootElement;
        Assert.Equal("/web", r.GetProperty("name").GetString());
        var cpu = r.GetProperty("cpu_stats");
        var pre = r.GetProperty("precpu_stats");
        long cpuDelta = cpu.GetProperty("cpu_usage").GetProperty("total_usage").GetInt64() - pre.GetProperty("cpu_usage").GetProperty("total_usage").GetInt64();
        long systemDelta = cpu.GetProperty("system_cpu_usage").GetInt64() - pre.GetProperty("system_cpu_usage").GetInt64();
        // docker's calculateCPUPercentUnix: 500000 / 1000000 * 2 CPUs * 100 = 100 %.
        Assert.Equal(100.0, (double)cpuDelta / systemDelta * cpu.GetProperty("online_cpus").GetInt32() * 100.0);
        var memory = r.GetProperty("memory_stats");
        Assert.Equal(50L << 20, memory.GetProperty("usage").GetInt64());
        Assert.Equal(10L << 20, memory.GetProperty("stats").GetProperty("total_inactive_file").GetInt64());
        Assert.Equal(64L << 20, memory.GetProperty("limit").GetInt64());
        Assert.Equal(3, r.GetProperty("pids_stats").GetProperty("current").GetInt64());
        Assert.Equal(1000, r.GetProperty("networks").GetProperty("eth0").GetProperty("rx_bytes").GetInt64());
        Assert.Equal(2000, r.GetProperty("networks").GetProperty("eth0").GetProperty("tx_bytes").GetInt64());
        var blkio = r.GetProperty("blkio_stats").GetProperty("io_service_bytes_recursive").EnumerateArray().ToDictionary(e => e.GetProperty("op").GetString()!, e => e.GetProperty("value").GetInt64());
        Assert.Equal(7, blkio["read"]);
        Assert.Equal(9, blkio["write"]);
        Assert.Equal("2024-01-01T00:00:01Z", r.GetProperty("read").GetString());
        Assert.Equal("2024-01-01T00:00:00Z", r.GetProperty("preread").GetString());
    }

    [Fact]
    public void OneShotStatsHaveAnEmptyPrecpuAndCgroupV2NamesTheInactiveFileItsWay()
    {
        var json = StatsEndpoints.ToJson(new StatsReading(null, Sample(5, 6, DateTime.UtcNow)), "abc", "web", 2, 8L << 30, cgroupVersion: 2);
        Assert.Equal(0, json["precpu_stats"]!["system_cpu_usage"]!.GetValue<long>());
        Assert.Equal(0, json["precpu_stats"]!["online_cpus"]!.GetValue<int>());
        Assert.Equal("0001-01-01T00:00:00Z", json["preread"]!.GetValue<string>());
        Assert.NotNull(json["memory_stats"]!["stats"]!["inactive_file"]);
        Assert.Null(json["memory_stats"]!["stats"]!["total_inactive_file"]);
    }

    [Fact]
    public void AStoppedContainersStatsAreZerosWithoutALimitOrNetworks()
    {
        var json = StatsEndpoints.ToJson(new StatsReading(Sample(0, 1, DateTime.UtcNow, running: false), Sample(0, 2, DateTime.UtcNow, running: false)), "abc", "web", 2, 8L << 30, 1);
        Assert.Null(json["networks"]);
        Assert.Null(json["memory_stats"]!["limit"]);
        Assert.Equal("0001-01-01T00:00:00Z", json["read"]!.GetValue<string>());
        Assert.Equal(0, json["cpu_stats"]!["cpu_usage"]!["total_usage"]!.GetValue<long>());
    }

    private static ContainerEvent Event(string action = "start", string id = "0123456789abcdef", string name = "web", string image = "busybox:1.36",
        params (string, string)[] labels)
    {
        var attributes = new Dictionary<string, string> { ["image"] = image, ["name"] = name };
        foreach (var (k, v) in labels) attributes[k] = v;
        return new ContainerEvent { Time = new DateTime(2024, 1, 1, 0, 0, 1, DateTimeKind.Utc).AddTicks(1234567), Action = action, Id = id, Name = name, Attributes = attributes };
    }

    [Fact]
    public void AnEventHasDockersShapeAndTheOldFields()
    {
        var json = EventEndpoints.ToJson(Event("die", labels: ("exitCode", "3")));
        Assert.Equal("container", json["Type"]!.GetValue<string>());
        Assert.Equal("die", json["Action"]!.GetValue<string>());
        Assert.Equal("0123456789abcdef", json["Actor"]!["ID"]!.GetValue<string>());
        Assert.Equal("3", json["Actor"]!["Attributes"]!["exitCode"]!.GetValue<string>());
        Assert.Equal("web", json["Actor"]!["Attributes"]!["name"]!.GetValue<string>());
        Assert.Equal("die", json["status"]!.GetValue<string>());
        Assert.Equal("0123456789abcdef", json["id"]!.GetValue<string>());
        Assert.Equal("busybox:1.36", json["from"]!.GetValue<string>());
        Assert.Equal("local", json["scope"]!.GetValue<string>());
        Assert.Equal(1704067201L, json["time"]!.GetValue<long>());
        Assert.Equal(1704067201_123456700L, json["timeNano"]!.GetValue<long>());
    }

    private static Dictionary<string, IReadOnlyList<string>> Filters(params (string Key, string[] Values)[] f) =>
        f.ToDictionary(x => x.Key, x => (IReadOnlyList<string>)x.Values);

    [Theory]
    [InlineData("container", "web", true)]
    [InlineData("container", "/web", true)]
    [InlineData("container", "0123", true)]      // an id prefix
    [InlineData("container", "other", false)]
    [InlineData("image", "busybox:1.36", true)]
    [InlineData("image", "busybox", true)]       // the image without its tag
    [InlineData("image", "busybox:latest", false)]
    [InlineData("type", "container", true)]
    [InlineData("type", "image", false)]
    [InlineData("event", "start", true)]
    [InlineData("event", "stop", false)]
    [InlineData("label", "tier", true)]
    [InlineData("label", "tier=front", true)]
    [InlineData("label", "tier=back", false)]
    [InlineData("label", "zone", false)]
    public void FiltersEventsAsDockerdDoes(string key, string value, bool matches) =>
        Assert.Equal(matches, ContainerService.EventMatches(Event(labels: ("tier", "front")), Filters((key, [value]))));

    [Fact]
    public void ValuesOfAFilterAreAlternativesAndFiltersAllMustHold()
    {
        var e = Event();
        Assert.True(ContainerService.EventMatches(e, Filters(("event", ["stop", "start"]))));
        Assert.False(ContainerService.EventMatches(e, Filters(("event", ["start"]), ("container", ["other"]))));
        Assert.True(ContainerService.EventMatches(e, Filters(("event", ["start"]), ("container", ["web"]))));
        Assert.True(ContainerService.EventMatches(e, Filters()));
    }
}
