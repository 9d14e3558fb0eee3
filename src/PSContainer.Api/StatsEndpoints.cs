using System.Text.Json.Nodes;
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
        // The counters of the container's namespace, all interfaces but loopback summed; none for a stopped one.
        if (c.Running)
        {
            json["networks"] = new JsonObject
            {
                ["eth0"] = new JsonObject
                {
                    ["rx_bytes"] = c.NetworkReceived, ["rx_packets"] = 0, ["rx_errors"] = 0, ["rx_dropped"] = 0,
                    ["tx_bytes"] = c.NetworkSent, ["tx_packets"] = 0, ["tx_errors"] = 0, ["tx_dropped"] = 0,
                },
            };
        }
        return json;
    }

    private static JsonObject Cpu(ContainerSample? sample, int onlineCpus) => new()
    {
        ["cpu_usage"] = new JsonObject
        {
            ["total_usage"] = sample is { Running: true } ? sample.Stats.CpuUsageNanoseconds : 0,
            ["usage_in_kernelmode"] = 0,
            ["usage_in_usermode"] = 0,
        },
        ["system_cpu_usage"] = sample?.SystemCpuNanoseconds ?? 0,
        ["online_cpus"] = sample is null ? 0 : onlineCpus,
        ["throttling_data"] = new JsonObject { ["periods"] = 0, ["throttled_periods"] = 0, ["throttled_time"] = 0 },
    };

    private static JsonObject BlkioEntry(string op, long value) => new() { ["major"] = 0, ["minor"] = 0, ["op"] = op, ["value"] = value };
}
