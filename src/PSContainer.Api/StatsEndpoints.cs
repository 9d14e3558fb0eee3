using System.Text.Json.Nodes;
using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>
/// GET /containers/{id}/stats: docker's StatsJSON, one line per reading. stream=true (the default) writes one a
/// second until the client leaves; stream=false one, whose precpu is a reading a second earlier (so docker stats
/// --no-stream shows a CPU %); one-shot=true with stream=false one at once with an empty precpu, as dockerd does.
/// </summary>
public static class StatsEndpoints
{
    /// <summary>A followed stats stream ends after this many readings (a week at one a second) even with the client still there.</summary>
    private const int MaxReadings = 7 * 24 * 3600;

    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Containers;
        app.MapGet("/containers/{id}/stats", async (HttpContext ctx, string id) =>
        {
            var r = ctx.Request;
            bool stream = Query.Bool(r, "stream", absent: true), oneShot = Query.Bool(r, "one-shot");
            if (oneShot && stream) throw ApiException.BadParameter("cannot have stream=true and one-shot=true");
            var readings = s.Stats(id, stream, oneShot, TimeSpan.FromSeconds(1), MaxReadings, ctx.RequestAborted);
            var container = s.Get(id);
            int cpus = Environment.ProcessorCount;
            long hostMemory = ContainerManager.HostMemoryBytes();
            int cgroupVersion = s.CgroupVersion;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            using var enumerator = readings.GetEnumerator();
            while (await Task.Run(enumerator.MoveNext, ctx.RequestAborted))
            {
                var json = ToJson(enumerator.Current, container.Id, container.Name, cpus, hostMemory, cgroupVersion);
                await ctx.Response.WriteAsync(json.ToJsonString() + "\n", ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        });
    }

    /// <summary>One reading in docker's StatsJSON shape (the fields the docker CLI and SDKs compute from).</summary>
    public static JsonObject ToJson(StatsReading reading, string id, string name, int onlineCpus, long hostMemory, int cgroupVersion)
    {
        var c = reading.Current;
        var p = reading.Previous;
        long limit = c.Running ? c.MemoryLimit ?? hostMemory : 0;
        var json = new JsonObject
        {
            ["name"] = "/" + name,
            ["id"] = id,
            ["read"] = c.Running ? DockerJson.Rfc3339Nano(c.Time) : DockerJson.ZeroTime,
            ["preread"] = p is { Running: true } ? DockerJson.Rfc3339Nano(p.Time) : DockerJson.ZeroTime,
            ["pids_stats"] = new JsonObject { ["current"] = c.Stats.PidsCurrent },
            ["blkio_stats"] = new JsonObject
            {
                ["io_service_bytes_recursive"] = c.Running
                    ? new JsonArray(BlkioEntry("read", c.Stats.BlockReadBytes), BlkioEntry("write", c.Stats.BlockWriteBytes))
                    : null,
            },
            ["cpu_stats"] = Cpu(c, onlineCpus),
            ["precpu_stats"] = p is null ? Cpu(null, 0) : Cpu(p, onlineCpus),
            ["memory_stats"] = c.Running
                ? new JsonObject
                {
                    ["usage"] = c.Stats.MemoryUsageBytes,
                    // docker stats subtracts this (v1: total_inactive_file, v2: inactive_file) from the usage.
                    ["stats"] = new JsonObject { [cgroupVersion == 1 ? "total_inactive_file" : "inactive_file"] = c.Stats.MemoryInactiveFileBytes },
                    ["limit"] = limit,
                }
                : new JsonObject(),
        };
        // Each interface of the container's namespace but loopback under its own name (eth0, eth1... one per
        // network); none for a stopped one.
        if (c.Running)
        {
            var networks = new JsonObject();
            foreach (var i in c.Interfaces)
            {
                networks[i.Name] = new JsonObject
                {
                    ["rx_bytes"] = i.RxBytes, ["rx_packets"] = i.RxPackets, ["rx_errors"] = i.RxErrors, ["rx_dropped"] = i.RxDropped,
                    ["tx_bytes"] = i.TxBytes, ["tx_packets"] = i.TxPackets, ["tx_errors"] = i.TxErrors, ["tx_dropped"] = i.TxDropped,
                };
            }
            json["networks"] = networks;
        }
        return json;
    }

    private static JsonObject Cpu(ContainerSample? sample, int onlineCpus)
    {
        bool running = sample is { Running: true };
        var cpu = running ? sample!.Cpu : CgroupCpuUsage.None;
        var usage = new JsonObject
        {
            ["total_usage"] = running ? sample!.Stats.CpuUsageNanoseconds : 0,
            ["usage_in_kernelmode"] = cpu.KernelNanoseconds,
            ["usage_in_usermode"] = cpu.UserNanoseconds,
        };
        // cgroup v1's cpuacct.usage_percpu; dockerd leaves the field out on v2, which has no per-CPU counters.
        if (cpu.PerCpuNanoseconds is { } perCpu) usage["percpu_usage"] = new JsonArray(perCpu.Select(n => (JsonNode)n).ToArray());
        return new JsonObject
        {
            ["cpu_usage"] = usage,
            ["system_cpu_usage"] = sample?.SystemCpuNanoseconds ?? 0,
            ["online_cpus"] = sample is null ? 0 : onlineCpus,
            ["throttling_data"] = new JsonObject { ["periods"] = cpu.Periods, ["throttled_periods"] = cpu.ThrottledPeriods, ["throttled_time"] = cpu.ThrottledNanoseconds },
        };
    }

    private static JsonObject BlkioEntry(string op, long value) => new() { ["major"] = 0, ["minor"] = 0, ["op"] = op, ["value"] = value };
}
