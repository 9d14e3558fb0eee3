using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Starts containers (docker start), or creates and runs one from an image (docker run).</para>
/// <para type="description">With -Image the container runs in the foreground: its standard output comes down the
/// pipeline as strings, its standard error as error records, and $LASTEXITCODE is its exit code, as for a native
/// command. -Detach returns at once with the container.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container), typeof(string))]
public sealed class StartContainerCommand : ContainerCreationCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>Containers to start (names or ids); with -Image, the name of the new container.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = RunSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [Alias("Id")]
    public string[] Name { get; set; } = [];

    protected override string? NewContainerName => Name.Length == 0 ? null : Name.Length == 1 ? Name[0]
        : throw new PSArgumentException("-Name takes one name when creating a container with -Image.");

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container[] Container { get; set; } = [];

    /// <summary>Wait until the container exits (for existing containers; -Image runs wait unless -Detach).</summary>
    [Parameter(ParameterSetName = ByName)]
    [Parameter(ParameterSetName = ByObject)]
    public SwitchParameter Wait { get; set; }

    /// <summary>For -Image: start in the background and return the container.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter Detach { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>For -Image -Interactive without -Tty or -Detach: the container's standard input, piped as to a
    /// native command (strings as lines, byte arrays raw); its end closes the container's stdin.</summary>
    [Parameter(ParameterSetName = RunSet, ValueFromPipeline = true)]
    public object? InputObject { get; set; }

    private readonly MemoryStream pipedInput = new();

    /// <summary>For -Image -Interactive -Tty: the keys that detach this terminal, leaving the container running, in
    /// docker's syntax ('ctrl-x,y'); without it Ctrl+P Ctrl+Q (docker run --detach-keys).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? DetachKeys { get; set; }

    private byte[] detachKeys = [];

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        detachKeys = EnterContainerSessionCommand.ParseDetachKeys(this, DetachKeys, whenNone: global::PSContainer.Engine.Containers.DetachKeys.Default);
    }

    /// <summary>docker run -i without -t in the foreground: the container reads this session's input (the pipeline's,
    /// or end-of-file at once without any), never a stdin nobody writes to.</summary>
    private bool FeedsStdin => Interactive && !Tty && !Detach;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == RunSet)
        {
            if (!MyInvocation.ExpectingInput)
            {
                Run();
                return;
            }
            if (!FeedsStdin)
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException("Pipeline input goes to the container's stdin only with -Interactive, without -Tty and -Detach (docker run -i); use Send-ContainerInput for a detached container."),
                    "InputNeedsInteractive", ErrorCategory.InvalidArgument, InputObject));
            if (InputObject is not null)
            {
                byte[] data = SendContainerInputCommand.InputBytes(InputObject);
                pipedInput.Write(data);
            }
            return;
        }
        var targets = ParameterSetName == ByObject ? Container.Select(c => (c.Id, c.Name)) : Name.Select(n => (n, n));
        foreach (var (key, shown) in targets)
        {
            if (!ShouldProcess(shown, "Start container")) continue;
            try
            {
                // Waiting, this session records the exit itself: the monitor need not start psc-service for it.
                using var watching = Wait ? Engine.Service.WatchExit(key) : null;
                var started = Engine.Service.StartContainer(key).Container;
                WriteEngineWarnings();
                if (Wait)
                {
                    var exit = RunWithProgress((_, cancel) => Engine.Service.Wait(started.Id, WaitCondition.NotRunning, cancel));
                    SetExitCode(exit.StatusCode);
                    if (PassThru) WriteObject(Engine.Service.TryGet(started.Id) ?? started);
                }
                else if (PassThru)
                {
                    WriteObject(started);
                }
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    protected override void EndProcessing()
    {
        // With pipeline input the run waits for all of it: it is the container's stdin, ended where the pipeline ends.
        if (ParameterSetName == RunSet && MyInvocation.ExpectingInput) Run();
    }

    /// <summary>docker run on the service layer's run sequence (the API's too); this cmdlet only pulls with
    /// PowerShell's progress display and maps output, errors and the exit code.</summary>
    private void Run()
    {
        if (!ShouldProcess(Image, "Run container")) return;
        bool attach = Interactive && Tty && !Detach;
        if (attach) EnterContainerSessionCommand.RequireTerminal(this, Image);
        Container? created = null;
        bool firstErrorLine = true;
        try
        {
            EnsureImage();
            var options = BuildOptions();
            // docker run -i sets StdinOnce: the end of this input is the end of the container's.
            if (FeedsStdin) options.StdinOnce = true;
            pipedInput.Position = 0;
            var request = new RunRequest
            {
                Options = options,
                Stdin = FeedsStdin ? pipedInput : null,
                Pull = null,
                Detach = Detach,
                Created = c => { created = c; WriteEngineWarnings(); },
                Started = _ => WriteEngineWarnings(),
                // docker run -it: this terminal is the container's until it exits (or Ctrl+P Ctrl+Q detaches).
                Terminal = attach ? (id, cancel) => EnterContainerSessionCommand.AttachTerminal(this, Engine, id, detachKeys, cancel) : null,
                Output = record =>
                {
                    if (record.Stream == "stderr")
                    {
                        // Shown as pwsh shows a native command's stderr: the line alone, still in the error stream.
                        WriteError(NativeErrorLineRecord.Create(record.Line, firstErrorLine, created!.Name));
                        firstErrorLine = false;
                    }
                    else
                    {
                        WriteObject(record.Line);
                    }
                },
            };
            var result = Engine.Service.Run(request, Cancellation);
            if (Detach)
            {
                WriteObject(result.Container);
                return;
            }
            if (result.ExitCode is int code) SetExitCode(code);
            if (attach || !PassThru) return;
            var ran = result.Container;
            WriteObject(Engine.Service.TryGet(ran.Id)
                        ?? new Container { Id = ran.Id, Name = ran.Name, Image = ran.Image, State = ContainerState.Exited, ExitCode = result.ExitCode });
        }
        catch (EngineException e) when (created is null)
        {
            // The one container asked for could not be made: a non-terminating error, as New-Container reports it,
            // and docker run's exit code for a failure before the container runs.
            SetExitCode(125);
            WriteEngineError(e);
        }
        catch (EngineException e)
        {
            if (e.Data["exitCode"] is int code) SetExitCode(code);
            if (AutoRemove && created is not null) TryRemove(created.Id);
            WriteEngineError(e);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
    }

    private void TryRemove(string id)
    {
        try { Engine.Service.Remove(id, force: true, removeVolumes: false); }
        catch (EngineException) { }
    }

    private void SetExitCode(int code) => SessionState.PSVariable.Set("global:LASTEXITCODE", code);
}
