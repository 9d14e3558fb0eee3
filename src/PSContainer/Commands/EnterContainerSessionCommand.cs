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

    /// <summary>
    /// Keys that leave the session with the process running, in docker's syntax ('ctrl-x,y': comma-separated, each a
    /// character or ctrl- with one of @ a-z [ \ ] ^ _). Without it an attach detaches on Ctrl+P Ctrl+Q and an exec
    /// session not at all (those keys stay the shell's).
    /// </summary>
    [Parameter]
    public string? DetachKeys { get; set; }

    private byte[] detachKeys = [];

    protected override void BeginProcessing()
    {
        detachKeys = ParseDetachKeys(this, DetachKeys, whenNone: Attach ? global::PSContainer.Engine.Containers.DetachKeys.Default : []);
    }

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
        // docker exec -it on the service's exec (the API's too): created, sized, started, then carried on this terminal.
        var exec = Engine.Service.CreateExec(Name, options, new ExecStreams { Stdin = true, Tty = true, DetachKeys = detachKeys });
        if (size.Item1 > 0 && size.Item2 > 0) Engine.Service.ResizeExec(exec.Id, size.Item1, size.Item2);
        using var session = Engine.Service.StartExec(exec.Id);
        var (end, exitCode) = session.RelayTerminal(0, 1, Cancellation);
        if (end == RelayEnd.Cancelled) throw new PipelineStoppedException();
        if (exitCode is not int code)
        {
            Host.UI.WriteLine($"\r\nDetached from {string.Join(' ', Command)} in {Name}; it keeps running while this PowerShell session does.");
            return;
        }
        string errors = session.RuntimeErrors;
        if (code != 0 && errors.Length > 0)
            WriteError(new ErrorRecord(new InvalidOperationException(errors), "ExecFailed", ErrorCategory.InvalidOperation, Name));
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
    }

    private void RunAttach()
    {
        int? code = AttachTerminal(this, Engine, Name, detachKeys, Cancellation);
        if (code is int c) SessionState.PSVariable.Set("global:LASTEXITCODE", c);
    }

    /// <summary>
    /// Attaches this terminal to a -Tty container's (<paramref name="detachKeys"/> detach); returns the container's exit
    /// code when its process ended, null when the user detached. Shared with Start-Container -Interactive -Tty.
    /// </summary>
    internal static int? AttachTerminal(PSCmdlet cmdlet, ContainerEngine engine, string name, byte[] detachKeys, CancellationToken cancel)
    {
        using var attached = engine.Containers.Attach(name);
        // While attached this session records the exit itself (an AutoRemove container's code would otherwise be
        // lost to psc-service's removal); a detach hands that back to the monitor's exit command.
        using var watching = engine.Containers.WatchExit(attached.Id);
        var end = TerminalRelay.Run(0, 1, attached, detachKeys, cancel);
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

    /// <summary>-DetachKeys as docker reads --detach-keys; <paramref name="whenNone"/> without it. A bad sequence is a terminating InvalidDetachKeys.</summary>
    internal static byte[] ParseDetachKeys(PSCmdlet cmdlet, string? text, byte[] whenNone)
    {
        if (text is null) return whenNone;
        try
        {
            return global::PSContainer.Engine.Containers.DetachKeys.Parse(text);
        }
        catch (EngineException e)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(new PSArgumentException(e.Message), e.ErrorId, ErrorCategory.InvalidArgument, text));
            return [];
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
