using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>What Invoke-ContainerCommand runs in a container.</summary>
public sealed class ExecOptions
{
    public string[] Command { get; init; } = [];
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public string? User { get; init; }
    public string? WorkingDirectory { get; init; }
}

// exec, pause and resume: verbs of the OCI runtime's command line (runc's), driven like create/start/kill.
public sealed partial class ContainerManager
{
    /// <summary>
    /// Runs a process in a running container (docker exec): it joins the container's namespaces and cgroup with
    /// the container's environment, user and working directory unless overridden. Yields its output as it comes;
    /// <paramref name="onExit"/> receives its exit code.
    /// </summary>
    public IEnumerable<ContainerLogRecord> Exec(string idOrName, ExecOptions options, Action<int> onExit, CancellationToken cancel)
    {
        var exec = StartExec(idOrName, options, withInput: false);
        return Stream(exec, onExit, cancel);
    }

    /// <summary>
    /// Starts an exec and hands it over: with <paramref name="withInput"/> its stdin is a pipe the caller writes
    /// and closes (docker exec -i); without, /dev/null.
    /// </summary>
    public ExecProcess StartExec(string idOrName, ExecOptions options, bool withInput)
    {
        var (runtime, record, processFile) = PrepareExec(idOrName, options, terminal: null);
        var argv = new List<string> { runtime.Binary, "--root", runtime.Root, "exec", "--process", processFile, record.Id };
        try
        {
            var (pid, stdin, stdout, stderr) = ProcessSpawner.Start(runtime.ExecPath, argv, ExecEnvironment, withInput);
            return new ExecProcess(pid, stdin, stdout, stderr, processFile);
        }
        catch
        {
            File.Delete(processFile);
            throw;
        }
    }

    private static readonly IReadOnlyDictionary<string, string> ExecEnvironment = new Dictionary<string, string>
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };

    /// <summary>
    /// Writes the exec's process.json (the container's process with the overrides) into the run dir. A terminal
    /// (rows, columns) makes it process.terminal with that consoleSize.
    /// </summary>
    private (RuntimeClient Runtime, ContainerRecord Record, string ProcessFile) PrepareExec(string idOrName, ExecOptions options, (int Rows, int Columns)? terminal)
    {
        var record = RunningRecord(idOrName);
        if (options.Command.Length == 0)
            throw new EngineException("NoCommand", ErrorKind.InvalidArgument, record.Name, "Give the command to run in the container.");
        ContainerInputRules.ValidateEnvironment(options.Environment);
        var runtime = RuntimeFor(record.Options.Runtime);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ContainerDir(record.Id), "config.json")))!;
        var process = config["process"]!.DeepClone().AsObject();
        process["args"] = new JsonArray(options.Command.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
        process["terminal"] = terminal is not null;
        process.Remove("consoleSize");
        if (terminal is { } size && size.Rows > 0 && size.Columns > 0)
            process["consoleSize"] = new JsonObject { ["height"] = size.Rows, ["width"] = size.Columns };
        if (options.WorkingDirectory is not null) process["cwd"] = options.WorkingDirectory;
        if (options.User is not null)
        {
            // The container's own passwd and group, resolved inside its root as the kernel sees it; its -GroupAdd
            // groups too, as docker exec -u does.
            var user = RuntimeSpecBuilder.ResolveUser(options.User, $"/proc/{record.Pid}/root", record.Options.GroupAdd);
            process["user"] = new JsonObject
            {
                ["uid"] = user.Uid,
                ["gid"] = user.Gid,
                ["additionalGids"] = new JsonArray(user.AdditionalGids.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
            };
        }
        if (options.Environment.Count > 0 || terminal is not null)
        {
            var env = process["env"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
            // A terminal session needs a TERM for full-screen programs; docker exec -t sets xterm when none is given.
            if (terminal is not null && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)) && !options.Environment.ContainsKey("TERM"))
                env.Add("TERM=xterm");
            foreach (var (k, v) in options.Environment)
            {
                env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
                env.Add(k + "=" + v);
            }
            process["env"] = new JsonArray(env.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());
        }
        string processFile = Path.Combine(RunDir(record.Id), $"exec-{Guid.NewGuid():N}.json");
        Directory.CreateDirectory(RunDir(record.Id));
        // A fresh name nobody reads before the runtime is started on it, deleted after the exec: no rename is needed
        // against half a file, nor an fsync (a crash leaves no exec to run it).
        File.WriteAllBytes(processFile, JsonSerializer.SerializeToUtf8Bytes(process));
        return (runtime, record, processFile);
    }

    private static IEnumerable<ContainerLogRecord> Stream(ExecProcess exec, Action<int> onExit, CancellationToken cancel)
    {
        try
        {
            foreach (var line in exec.ReadToEnd(cancel)) yield return line;
        }
        finally
        {
            if (cancel.IsCancellationRequested) exec.Kill();
            onExit(exec.Wait());
            exec.Dispose();
        }
    }

    private ContainerRecord RunningRecord(string idOrName)
    {
        var record = Resolve(idOrName);
        record = ReconcileIfIdle(record) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
        if (record.State != ContainerState.Running)
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, record.Name, $"Container {record.Name} is not running ({record.State}).");
        return record;
    }

    /// <summary>Freezes every process of a running container (docker pause).</summary>
    public Container Pause(string idOrName) => SetPaused(idOrName, pause: true);

    /// <summary>Thaws a paused container (docker unpause).</summary>
    public Container Resume(string idOrName) => SetPaused(idOrName, pause: false);

    private Container SetPaused(string idOrName, bool pause)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName))
                     ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            var wanted = pause ? ContainerState.Paused : ContainerState.Running;
            if (record.State == wanted) return ToContainer(record);
            if (record.State != (pause ? ContainerState.Running : ContainerState.Paused))
                throw new EngineException(pause ? "ContainerNotRunning" : "ContainerNotPaused", ErrorKind.InvalidOperation, record.Name,
                    $"Container {record.Name} is {record.State}; only a {(pause ? "running" : "paused")} container can be {(pause ? "paused" : "resumed")}.");
            var runtime = RuntimeFor(record.Options.Runtime);
            var result = runtime.Run(TimeSpan.FromSeconds(30), pause ? "pause" : "resume", record.Id);
            if (result.ExitCode != 0)
                throw new EngineException(pause ? "PauseFailed" : "ResumeFailed", ErrorKind.InvalidOperation, record.Name,
                    $"{runtime.Name} {(pause ? "pause" : "resume")} {record.Name} failed: {result.Stderr}");
            record.State = wanted;
            store.Update(record);
            return ToContainer(record);
        }
    }
}
