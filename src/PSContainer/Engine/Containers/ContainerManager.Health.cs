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

    /// <summary>
    /// Waits until a running container's healthcheck says healthy and returns the container. Fails with
    /// ContainerUnhealthy when it says unhealthy, ContainerNotRunning when the container exits first, NoHealthcheck when
    /// it has none.
    /// </summary>
    public Container WaitHealthy(string idOrName, CancellationToken cancel)
    {
        var record = Resolve(idOrName);
        if (HealthcheckOf(record) is null)
            throw new EngineException("NoHealthcheck", ErrorKind.InvalidOperation, record.Name,
                $"Container {record.Name} has no healthcheck (none in its image, none given with -HealthCommand, or -NoHealthcheck): it never becomes healthy.");
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var current = store.ById(record.Id) is { } r ? ReconcileIfIdle(r) : null;
            if (current is null)
                throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"Container {idOrName} was removed while waiting for it to become healthy.");
            switch (current.State)
            {
                case ContainerState.Created:
                    throw new EngineException("ContainerNotStarted", ErrorKind.InvalidOperation, current.Name, $"Container {current.Name} has not been started.");
                case ContainerState.Exited or ContainerState.Dead:
                    throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, current.Name,
                        $"Container {current.Name} exited (code {current.ExitCode ?? -1}) before it became healthy.");
            }
            // The file is deleted at every start (PrepareHealthcheck), so a status read here is this run's; none yet is "starting".
            switch (ReadHealth(current))
            {
                case { Status: "healthy" }:
                    return ToContainer(current);
                case { Status: "unhealthy" } h:
                    string last = h.Log.Length > 0 ? h.Log[^1].Output.Trim() : "";
                    throw new EngineException("ContainerUnhealthy", ErrorKind.ResourceUnavailable, current.Name,
                        $"Container {current.Name} is unhealthy after {h.FailingStreak} failed checks{(last.Length > 0 ? ": " + last : ".")}");
            }
            cancel.WaitHandle.WaitOne(50);
        }
    }

    /// <summary>
    /// Waits for the container's next exit (docker wait --condition=next-exit): a running container's exit, or, for one
    /// that is not running, the exit of its next run, however soon that run ends.
    /// </summary>
    public ContainerExit WaitNextExit(string idOrName, CancellationToken cancel)
    {
        var record = Resolve(idOrName);
        var first = store.ById(record.Id) is { } r0 ? ReconcileIfIdle(r0) : null;
        DateTime? startedBefore = first?.State is ContainerState.Running or ContainerState.Paused ? null : first?.StartedAt;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var current = store.ById(record.Id) is { } r ? ReconcileIfIdle(r) : null;
            if (current is null)
                return RemovedExits.TryGetValue(record.Id, out var exit) ? exit
                    : throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"Container {idOrName} was removed while waiting.");
            if (current.State is ContainerState.Running or ContainerState.Paused || current.StartedAt != startedBefore)
                return Wait(record.Id, cancel); // running now, or a run began and already ended: its exit
            cancel.WaitHandle.WaitOne(50);
        }
    }

    /// <summary>Waits until the container is removed (docker wait --condition=removed) and returns how it ended.</summary>
    public ContainerExit WaitRemoved(string idOrName, CancellationToken cancel)
    {
        if (RemovedExits.TryGetValue(idOrName, out var removed)) return removed;
        var record = Resolve(idOrName);
        var last = record;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var current = store.ById(record.Id) is { } r ? ReconcileIfIdle(r) : null;
            if (current is null)
                return RemovedExits.TryGetValue(record.Id, out var exit) ? exit
                    : new ContainerExit(record.Id, last.Name, last.ExitCode ?? -1, last.OOMKilled, last.FinishedAt);
            last = current;
            cancel.WaitHandle.WaitOne(100);
        }
    }
}
