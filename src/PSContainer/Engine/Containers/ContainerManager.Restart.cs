using System.Globalization;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Restart policies and the exit command. There is no daemon: the monitor of a container runs `psc-service
/// container-exited` when the container exits (conmon's exit command), unless a session is waiting for that exit
/// and nothing but the clean-up is to be done. psc-service calls <see cref="ContainerExited"/>, which records the
/// exit (network, cgroup, AutoRemove: <see cref="Reconcile"/>) and carries out the restart policy. Sessions call the
/// same code: Repair-ContainerState and `psc-service boot` start what a reboot (or a killed psc-service) left.
/// </summary>
public sealed partial class ContainerManager
{
    private RestartStore? restarts;

    /// <summary>The Error of a container found dead with no exit record: what a reboot (or a killed monitor) leaves.</summary>
    private const string MonitorLostWithoutExit = "the container's monitor died without recording how the container exited";

    private RestartStore Restarts => restarts ??= new RestartStore(images.Db);

    /// <summary>A session waiting for the exit holds this shared; the monitor skips the exit command while anyone does.</summary>
    private string WatchFile(string id) => Path.Combine(RunDir(id), "watch");

    /// <summary>psc-service.dll beside the module's assemblies (build.ps1 puts it there), or null when it is missing.</summary>
    public static string? ServiceAssembly
    {
        get
        {
            string path = Path.Combine(Path.GetDirectoryName(typeof(ContainerManager).Assembly.Location)!, "psc-service.dll");
            return File.Exists(path) ? path : null;
        }
    }

    /// <summary>
    /// A dotnet host to run psc-service.dll with: the one of this runtime when it is a shared install (no DOTNET_ROOT
    /// needed), else $DOTNET_ROOT's, else one on PATH (a self-contained pwsh carries no host of its own); null if none.
    /// </summary>
    public static string? DotnetHost
    {
        get
        {
            var candidates = new List<string>
            {
                Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet")),
            };
            if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) candidates.Add(Path.Combine(root, "dotnet"));
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
                candidates.Add(Path.Combine(dir, "dotnet"));
            candidates.Add("/usr/share/dotnet/dotnet");
            return candidates.FirstOrDefault(File.Exists);
        }
    }

    /// <summary>
    /// A restart policy is carried out by psc-service: without it (or a dotnet host to run it) the policy could
    /// never act, so the container is refused rather than started with a policy silently dropped.
    /// </summary>
    public static void EnsureRestartPossible(ContainerOptions o)
    {
        if (o.RestartPolicy is null) return;
        if (ServiceAssembly is null)
            throw new EngineException("RestartPolicyUnavailable", ErrorKind.NotInstalled, o.RestartPolicy,
                "-RestartPolicy needs psc-service.dll beside the module (build.ps1 puts it there); it is missing.");
        if (DotnetHost is null)
            throw new EngineException("RestartPolicyUnavailable", ErrorKind.NotInstalled, o.RestartPolicy,
                "-RestartPolicy needs a dotnet host to run psc-service with; none was found (set DOTNET_ROOT or put dotnet on PATH).");
    }

    /// <summary>
    /// The command line of psc-service for this state root: the host, the assembly, the verb, the roots, and the
    /// session's PSCONTAINER_* settings (the monitor's environment has only PATH). A crash point is passed on only
    /// when it names a step of the service (restart-…), so crash tests of sessions never kill the service.
    /// </summary>
    public static List<string> ServiceCommand(string verb, string root, string runRoot)
    {
        var args = new List<string> { DotnetHost ?? "dotnet", ServiceAssembly ?? "psc-service.dll", verb, "--root", Path.GetFullPath(root), "--runroot", Path.GetFullPath(runRoot) };
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            string key = (string)e.Key, value = (string?)e.Value ?? "";
            if (!key.StartsWith("PSCONTAINER_", StringComparison.Ordinal) || key is StatePaths.RootVariable or StatePaths.RunRootVariable) continue;
            if (key == CrashPoint.Variable && !value.StartsWith("restart-", StringComparison.Ordinal)) continue;
            args.AddRange(["--env", key + "=" + value]);
        }
        return args;
    }

    /// <summary>
    /// The monitor's exit command options. Without a restart policy the exit command only cleans up, which a
    /// waiting session does itself, so the monitor skips it while the watch file is locked (a .NET process per exit
    /// would cost more than the whole run of a short container); with a policy it always runs.
    /// </summary>
    private List<string> ExitCommandArguments(ContainerRecord record)
    {
        EnsureRestartPossible(record.Options);
        if (ServiceAssembly is null || DotnetHost is null) return [];
        var command = ServiceCommand("container-exited", paths.Root, paths.RunRoot);
        command.AddRange(["--id", record.Id]);
        var args = new List<string> { "--exit-command", command[0] };
        foreach (string a in command.Skip(1)) args.AddRange(["--exit-command-arg", a]);
        if (record.Options.RestartPolicy is null) args.AddRange(["--exit-command-watch", WatchFile(record.Id)]);
        return args;
    }

    /// <summary>
    /// Held (shared) by a session from before it starts or signals a container until it has recorded the exit
    /// itself, so the monitor need not start psc-service for the clean-up.
    /// </summary>
    public IDisposable WatchExit(string id)
    {
        Directory.CreateDirectory(RunDir(id));
        return FileLock.Acquire(WatchFile(id), exclusive: false);
    }

    /// <summary>
    /// The exit command (psc-service container-exited): records the exit, then applies the restart policy. The
    /// backoff is waited out without the lock, so a Stop, Start or Remove meanwhile wins: the restart happens only if
    /// the record still says Restarting for this very exit and this process. Returns what it did, for the log.
    /// </summary>
    public string ContainerExited(string id, CancellationToken cancel = default)
    {
        TimeSpan delay;
        DateTime? exitedRun;
        using (LockContainer(id))
        {
            if (store.ById(id) is not { } found) return "removed";
            if (Reconcile(found) is not { } record) return "removed on exit (AutoRemove)";
            if (record.State != ContainerState.Exited) return $"nothing to do: {record.State}";
            var policy = RestartPolicySpec.Parse(record.Options.RestartPolicy);
            if (policy.IsNone) return "exited";
            var state = Restarts.Get(id);
            var ranFor = (record.FinishedAt ?? DateTime.UtcNow) - (record.StartedAt ?? DateTime.UtcNow);
            if (!policy.ShouldRestart(record.ExitCode ?? -1, state.StoppedByUser, state.RestartCount))
                return $"exited; {policy} does not restart it (count {state.RestartCount})";
            delay = RestartPolicySpec.NextDelay(state.Delay, ranFor);
            state.Delay = delay;
            state.RestartCount++;
            state.RestarterPid = Environment.ProcessId;
            state.RestarterStart = ProcessInfo.StartTime(Environment.ProcessId);
            Restarts.Set(state);
            record.State = ContainerState.Restarting;
            store.Update(record);
            exitedRun = record.StartedAt;
        }
        CrashPoint.At("restart-after-plan");
        cancel.WaitHandle.WaitOne(delay);
        cancel.ThrowIfCancellationRequested();
        using (LockContainer(id))
        {
            if (store.ById(id) is not { } record || record.State != ContainerState.Restarting || record.StartedAt != exitedRun)
                return "restart cancelled: the container was stopped, started or removed meanwhile";
            var state = Restarts.Get(id);
            if (state.RestarterPid != Environment.ProcessId) return "restart cancelled: another process took it over";
            return FinishRestart(record, state);
        }
    }

    /// <summary>Under the lock: starts a container whose restart was decided. A failed start leaves it Exited with the error.</summary>
    private string FinishRestart(ContainerRecord record, RestartState state)
    {
        state.RestarterPid = 0;
        state.RestarterStart = 0;
        Restarts.Set(state);
        record.State = ContainerState.Exited;
        try
        {
            StartLocked(record);
            return $"restarted (count {state.RestartCount})";
        }
        catch (EngineException e)
        {
            store.Update(record);
            return $"restart failed: {e.Message}";
        }
    }

    /// <summary>
    /// Under the lock, for Stop-Container (with or without -Signal, as docker stop and kill): the user's stop cancels
    /// the policy until the next start, and a container waiting in the backoff stops there.
    /// </summary>
    private ContainerRecord CancelRestartForStop(ContainerRecord record)
    {
        if (record.Options.RestartPolicy is null) return record;
        var state = Restarts.Get(record.Id);
        state.StoppedByUser = true;
        state.RestarterPid = 0;
        state.RestarterStart = 0;
        Restarts.Set(state);
        if (record.State == ContainerState.Restarting)
        {
            record.State = ContainerState.Exited;
            store.Update(record);
        }
        return record;
    }

    /// <summary>Under the lock, for Start-Container: a user's start begins the policy afresh (docker resets the count and the stop).</summary>
    private void ResetRestartForStart(ContainerRecord record)
    {
        if (record.Options.RestartPolicy is null) return;
        Restarts.Clear(record.Id);
        if (record.State == ContainerState.Restarting) record.State = ContainerState.Exited;
    }

    /// <summary>
    /// What a reboot (or a killed psc-service) leaves: containers whose record says running while their monitor and
    /// process are gone, and restarts whose backoff nobody is waiting out any more. The first are recorded as dead
    /// and started again if their policy says so (always; unless-stopped unless the user stopped it); the second are
    /// finished. At boot (<paramref name="boot"/>) docker's daemon start rule applies to stopped containers too:
    /// always ones start even if the user stopped them, unless-stopped ones only if not.
    /// </summary>
    public IReadOnlyList<string> StartRestartable(bool boot)
    {
        var done = new List<string>();
        foreach (var listed in store.All())
        {
            if (listed.Options.RestartPolicy is null || !NeedsStart(listed, boot)) continue;
            try
            {
                using (LockContainer(listed.Id))
                {
                    if (store.ById(listed.Id) is not { } record || !NeedsStart(record, boot)) continue;
                    var state = Restarts.Get(record.Id);
                    var policy = RestartPolicySpec.Parse(record.Options.RestartPolicy);
                    bool interrupted = record.State == ContainerState.Restarting;
                    if (Reconcile(record) is not { } settled) continue;
                    if (!interrupted && !policy.StartsAtBoot(state.StoppedByUser)) continue;
                    if (!interrupted) state.StoppedByUser = false;
                    done.Add($"{FinishRestart(settled, state)}: container {settled.Name}");
                }
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
            {
                // Removed meanwhile.
            }
        }
        return done;
    }

    private bool NeedsStart(ContainerRecord r, bool boot) => r.State switch
    {
        ContainerState.Running or ContainerState.Paused => !File.Exists(ExitFile(r.Id))
            && !ProcessInfo.IsAlive(r.MonitorPid, r.MonitorStart) && !ProcessInfo.Exists(r.Pid),
        ContainerState.Restarting => Restarts.Get(r.Id) is var s && !ProcessInfo.IsAlive(s.RestarterPid, s.RestarterStart),
        ContainerState.Dead => r.Error == MonitorLostWithoutExit || (boot && r.StartedAt is not null),
        ContainerState.Exited => boot && r.StartedAt is not null,
        _ => false,
    };

    /// <summary>For the service's log: a line with the time and the process.</summary>
    public static string LogLine(string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:O} psc-service[{Environment.ProcessId}] {text}\n");
}
