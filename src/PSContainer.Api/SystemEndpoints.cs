using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Containers;

namespace PSContainer.Api;

/// <summary>/_ping, /version and /info.</summary>
public static class SystemEndpoints
{
    public static string EngineVersion => typeof(ContainerEngine).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private static string Arch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        var a => a.ToString().ToLowerInvariant(),
    };

    private static string KernelVersion => File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";

    public static void Map(WebApplication app, ApiState state)
    {
        app.MapMethods("/_ping", ["GET", "HEAD"], (HttpContext ctx) =>
        {
            ctx.Response.Headers.CacheControl = "no-cache, no-store, must-revalidate";
            ctx.Response.Headers.Pragma = "no-cache";
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            return HttpMethods.IsHead(ctx.Request.Method) ? Task.CompletedTask : ctx.Response.WriteAsync("OK");
        });

        app.MapGet("/version", () => Results.Json(new JsonObject
        {
            ["Platform"] = new JsonObject { ["Name"] = "PSContainer" },
            ["Components"] = new JsonArray(new JsonObject
            {
                ["Name"] = "Engine",
                ["Version"] = EngineVersion,
                ["Details"] = new JsonObject
                {
                    ["ApiVersion"] = ApiVersion.Max.ToString(),
                    ["MinAPIVersion"] = ApiVersion.Min.ToString(),
                    ["Os"] = "linux",
                    ["Arch"] = Arch,
                    ["KernelVersion"] = KernelVersion,
                    ["GitCommit"] = "",
                    ["GoVersion"] = ".NET " + Environment.Version,
                    ["BuildTime"] = "",
                    ["Experimental"] = "false",
                },
            }),
            ["Version"] = EngineVersion,
            ["ApiVersion"] = ApiVersion.Max.ToString(),
            ["MinAPIVersion"] = ApiVersion.Min.ToString(),
            ["GitCommit"] = "",
            ["GoVersion"] = ".NET " + Environment.Version,
            ["Os"] = "linux",
            ["Arch"] = Arch,
            ["KernelVersion"] = KernelVersion,
            ["BuildTime"] = "",
        }));

        app.MapGet("/info", () =>
        {
            var containers = state.Engine.Containers.List();
            var images = state.Engine.Images.List();
            long memTotal = 0;
            foreach (string line in File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo") : [])
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    memTotal = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            var info = new JsonObject
            {
                ["ID"] = state.InstanceId,
                ["Containers"] = containers.Count,
                ["ContainersRunning"] = containers.Count(c => c.State == ContainerState.Running),
                ["ContainersPaused"] = containers.Count(c => c.State == ContainerState.Paused),
                ["ContainersStopped"] = containers.Count(c => c.State is not (ContainerState.Running or ContainerState.Paused)),
                ["Images"] = images.Count,
                ["Driver"] = "overlay",
                ["DriverStatus"] = new JsonArray(),
                ["MemoryLimit"] = true,
                ["SwapLimit"] = true,
                ["CpuCfsPeriod"] = true,
                ["CpuCfsQuota"] = true,
                ["CPUShares"] = true,
                ["CPUSet"] = true,
                ["PidsLimit"] = true,
                ["IPv4Forwarding"] = true,
                ["Debug"] = false,
                ["NFd"] = Directory.Exists("/proc/self/fd") ? Directory.GetFileSystemEntries("/proc/self/fd").Length : 0,
                ["NGoroutines"] = System.Threading.ThreadPool.ThreadCount,
                ["SystemTime"] = DockerJson.Time(DateTime.UtcNow),
                ["LoggingDriver"] = "k8s-file",
                ["CgroupDriver"] = "cgroupfs",
                ["CgroupVersion"] = Directory.Exists("/sys/fs/cgroup/memory") ? "1" : "2",
                ["KernelVersion"] = KernelVersion,
                ["OperatingSystem"] = RuntimeInformation.OSDescription,
                ["OSType"] = "linux",
                ["Architecture"] = RuntimeInformation.OSArchitecture == Architecture.X64 ? "x86_64" : Arch,
                ["NCPU"] = Environment.ProcessorCount,
                ["MemTotal"] = memTotal,
                ["IndexServerAddress"] = "https://index.docker.io/v1/",
                ["DockerRootDir"] = state.Engine.Paths.Root,
                ["Name"] = Environment.MachineName,
                ["Labels"] = new JsonArray(),
                ["ExperimentalBuild"] = false,
                ["ServerVersion"] = EngineVersion,
                ["Runtimes"] = new JsonObject
                {
                    ["psc"] = new JsonObject { ["path"] = Path.Combine(ContainerManager.NativeDirectory, "psc-runtime") },
                    ["runc"] = new JsonObject { ["path"] = "runc" },
                },
                ["DefaultRuntime"] = "psc",
                ["LiveRestoreEnabled"] = true,
                ["Isolation"] = "",
                ["SecurityOptions"] = new JsonArray("name=seccomp,profile=default"),
                ["Warnings"] = new JsonArray(),
            };
            // 1.44: the CDI spec directories (none: CDI devices are not served).
            if (ApiVersion.RequestedAtLeast(1, 44)) info["CDISpecDirs"] = new JsonArray();
            return Results.Json(info);
        });
    }
}
