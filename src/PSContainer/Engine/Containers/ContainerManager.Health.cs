using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Healthchecks without a daemon: at each start the engine writes the probe's process (the container's own process
/// with the test as its arguments, as an exec gets it) and hands its timings to the monitor, which runs the probes and
/// writes containers/&lt;id&gt;/health.json and health_status events. Every session reads the same file.
/// </summary>
public sealed partial class ContainerManager
{
    private string HealthStatusFile(string id) => Path.Combine(ContainerDir(id), "health.json");
    private string HealthProcessFile(string id) => Path.Combine(RunDir(id), "health-process.json");

    /// <summary>The healthcheck the container runs (its own over its image's, docker's defaults), or null.</summary>
    private HealthConfig? HealthcheckOf(ContainerRecord record, ContainerImage? image = null) =>
        ContainerOptions.EffectiveHealthcheck(record.Options.Healthcheck, (image ?? images.Find(record.ImageId))?.Config.Healthcheck);

    /// <summary>Called at start once config.json is written: the probe's process file, or none without a healthcheck.</summary>
    private void PrepareHealthcheck(ContainerRecord record, ContainerImage image)
    {
        string file = HealthProcessFile(record.Id);
        File.Delete(file);
        // The last run's status must not pass for this run's: the monitor writes "starting" only once it has
        // created the container, which may be after the engine records the start.
        File.Delete(HealthStatusFile(record.Id));
        if (HealthcheckOf(record, image) is not { } health) return;
        // The container's process (user, groups, environment, cwd, capabilities, AppArmor, no_new_privs, rlimits), as
        // Exec builds it; the runtime applies the container's seccomp filter to every exec.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ContainerDir(record.Id), "config.json")))!;
        var process = config["process"]!.DeepClone().AsObject();
        process["args"] = new JsonArray(ContainerOptions.HealthArguments(health).Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
        process["terminal"] = false;
        process.Remove("consoleSize");
        AtomicFile.Write(file, JsonSerializer.SerializeToUtf8Bytes(process), RunDir(record.Id));
    }

    /// <summary>The monitor's healthcheck options, when PrepareHealthcheck wrote a process for this start.</summary>
    private List<string> HealthMonitorArgs(ContainerRecord record)
    {
        if (!File.Exists(HealthProcessFile(record.Id)) || HealthcheckOf(record) is not { } h) return [];
        static string Ms(long ns) => Math.Max(ns == 0 ? 0 : 1, (ns + 999_999) / 1_000_000).ToString(CultureInfo.InvariantCulture);
        return
        [
            "--health-process", HealthProcessFile(record.Id), "--health-status", HealthStatusFile(record.Id),
            "--health-interval-ms", Ms(h.Interval), "--health-timeout-ms", Ms(h.Timeout), "--health-retries", h.Retries.ToString(CultureInfo.InvariantCulture),
            "--health-start-period-ms", Ms(h.StartPeriod), "--health-start-interval-ms", Ms(h.StartInterval),
            "--events-file", EventLog.Path, "--event-name", record.Name, "--event-image", record.Image,
        ];
    }

    private ContainerHealth? ReadHealth(ContainerRecord record) =>
        record.Id.Length == 0 ? null : ContainerHealth.ReadFile(HealthStatusFile(record.Id));

    /// <summary>Whether the container runs a healthcheck (its own or its image's): Wait for Healthy refuses one without.</summary>
    public bool HasHealthcheck(string idOrName) => HealthcheckOf(Resolve(idOrName)) is not null;
}
