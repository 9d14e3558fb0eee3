using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;
using PSContainer.Native;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Opens an interactive terminal session in a running container (docker exec -it, docker attach).</para>
/// <para type="description">The process gets a pseudo-terminal inside the container; this terminal is put in raw mode
/// for the session and restored afterwards. $LASTEXITCODE is the process's exit code.</para>
/// </summary>
[Cmdlet(VerbsCommon.Enter, "ContainerSession", DefaultParameterSetName = ExecSet)]
[OutputType(typeof(void))]
public sealed class EnterContainerSessionCommand : PSContainerCmdlet
{
    private const string ExecSet = "Exec", AttachSet = "Attach";

    /// <summary>The container's name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [Alias("Id")]
    public string Name { get; set; } = "";

    /// <summary>The command to run (default: /bin/sh).</summary>
    [Parameter(Position = 1, ParameterSetName = ExecSet)]
    public string[] Command { get; set; } = ["/bin/sh"];

    /// <summary>user[:group] to run as (default: the container's user).</summary>
    [Parameter(ParameterSetName = ExecSet)]
    public string? User { get; set; }

    [Parameter(ParameterSetName = ExecSet)]
    [Alias("Workdir")]
    public string? WorkingDirectory { get; set; }

    /// <summary>Variables added to (or replacing in) the container's environment.</summary>
    [Parameter(ParameterSetName = ExecSet)]
    [Alias("Env")]
    public Hashtable? Environment { get; set; }

    /// <summary>Attaches to the container's own process (started with -Interactive -Tty) instead of running a new one.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AttachSet)]
    public SwitchParameter Attach { get; set; }

    protected override void ProcessRecord()
    {
        RequireTerminal(this, Name);
        try
        {
            if (Attach) RunAttach();
            else RunExec();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }

    private void RunExec()
    {
        var size = Terminal.GetSize(0) ?? (24, 80);
        var options = new ExecOptions
        {
            Command = Command,
            Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "") ?? new Dictionary<string, string>(),
            User = User,
            WorkingDirectory = WorkingDirectory,
        };
        using var session = Engine.Containers.StartTerminalExec(Name, options, size.Item1, size.Item2);
        var end = TerminalRelay.Run(0, 1, session, detachKeys: false, Cancellation);
        if (end == RelayEnd.Cancelled) throw new PipelineStoppedException();
        int code = session.Wait();
        string errors = session.RuntimeErrors;
        if (code != 0 && errors.Length > 0)
            WriteError(new ErrorRecord(new InvalidOperationException(errors), "ExecFailed", ErrorCategory.InvalidOperation, Name));
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
    }

    private void RunAttach()
    {
        int? code = AttachTerminal(this, Engine, Name, Cancellation);
        if (code is int c) SessionState.PSVariable.Set("global:LASTEXITCODE", c);
    }

    /// <summary>
    /// Attaches this terminal to a -Tty container's (Ctrl+P Ctrl+Q detaches); returns the container's exit code when
    /// its process ended, null when the user detached. Shared with Start-Container -Interactive -Tty.
    /// </summary>
    internal static int? AttachTerminal(PSCmdlet cmdlet, ContainerEngine engine, string name, CancellationToken cancel)
    {
        using var attached = engine.Containers.Attach(name);
        // While attached this session records the exit itself (an AutoRemove container's code would otherwise be
        // lost to psc-service's removal); a detach hands that back to the monitor's exit command.
        using var watching = engine.Containers.WatchExit(attached.Id);
        var end = TerminalRelay.Run(0, 1, attached, detachKeys: true, cancel);
        if (end == RelayEnd.Cancelled) throw new PipelineStoppedException();
        if (end == RelayEnd.Detached)
        {
            watching.Dispose();
            cmdlet.Host.UI.WriteLine($"\r\nDetached from {attached.Name}; it keeps running (Enter-ContainerSession {attached.Name} -Attach to come back).");
            return null;
        }
        // The monitor closed the terminal: the process ended and its exit code is on the way to the exit file.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            return engine.Service.Wait(attached.Id, WaitCondition.NotRunning, bounded.Token).StatusCode;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new EngineException("AttachLost", ErrorKind.OperationStopped, attached.Name,
                $"The terminal of {attached.Name} closed but the container did not exit within 30 s.");
        }
    }

    /// <summary>The check both sessions make first: raw mode needs a terminal on both sides.</summary>
    internal static void RequireTerminal(PSCmdlet cmdlet, string target)
    {
        if (!Terminal.IsTerminal(0) || !Terminal.IsTerminal(1))
            cmdlet.ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                    "An interactive session needs a terminal on stdin and stdout; to feed input to a command, pipe it to Invoke-ContainerCommand."),
                "NotATerminal", ErrorCategory.InvalidOperation, target));
    }
}
