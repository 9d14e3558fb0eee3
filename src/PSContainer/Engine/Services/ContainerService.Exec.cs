using System.Collections.Concurrent;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>An exec instance (docker exec create/start/inspect): made first, run once, its exit kept for inspection.</summary>
public sealed class ExecInstance
{
    public string Id { get; init; } = "";
    public string ContainerId { get; init; } = "";
    public ExecOptions Options { get; init; } = new();
    public bool Running { get; internal set; }
    public bool Started { get; internal set; }
    public int? ExitCode { get; internal set; }
}

public sealed partial class ContainerService
{
    private readonly ConcurrentDictionary<string, ExecInstance> execs = new(StringComparer.Ordinal);

    /// <summary>docker exec's first step: checks the container runs and records what to run.</summary>
    public ExecInstance CreateExec(string idOrName, ExecOptions options)
    {
        var c = Get(idOrName);
        if (c.State != ContainerState.Running)
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, c.Name, $"Container {c.Id} is not running");
        if (options.Command.Length == 0)
            throw new EngineException("NoCommand", ErrorKind.InvalidArgument, c.Name, "No exec command specified");
        var exec = new ExecInstance { Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ContainerId = c.Id, Options = options };
        execs[exec.Id] = exec;
        return exec;
    }

    public ExecInstance GetExec(string execId) =>
        execs.TryGetValue(execId, out var e) ? e : throw new EngineException("ExecNotFound", ErrorKind.ObjectNotFound, execId, $"No such exec instance: {execId}");

    /// <summary>Runs the exec (once) and yields its output; its exit code is set before the output ends.</summary>
    public IEnumerable<ContainerLogRecord> StartExec(string execId, CancellationToken cancel)
    {
        var exec = GetExec(execId);
        lock (exec)
        {
            if (exec.Started)
                throw new EngineException("ExecAlreadyStarted", ErrorKind.InvalidOperation, execId, $"Exec {execId} has already been started");
            exec.Started = exec.Running = true;
        }
        return Run();

        IEnumerable<ContainerLogRecord> Run()
        {
            try
            {
                foreach (var r in Manager.Exec(exec.ContainerId, exec.Options, code => exec.ExitCode = code, cancel)) yield return r;
            }
            finally
            {
                exec.Running = false;
                exec.ExitCode ??= -1;
                // Kept for inspection for a while, as dockerd keeps an exec until its container goes.
                foreach (var old in execs.Values.Where(e => !e.Running && e.Started && e.ContainerId == exec.ContainerId).SkipLast(16).ToList())
                    execs.TryRemove(old.Id, out _);
            }
        }
    }
}
