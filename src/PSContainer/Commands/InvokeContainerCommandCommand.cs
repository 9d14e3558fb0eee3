using System.Collections;
using System.Management.Automation;
using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Runs a command in a running container (docker exec).</para>
/// <para type="description">Standard output comes down the pipeline as strings, standard error as error records,
/// and $LASTEXITCODE is the command's exit code, as for a native command. Pipeline input (or -InputObject) is the
/// command's standard input.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(string))]
public sealed class InvokeContainerCommandCommand : ContainerTargetCmdlet, IDisposable
{
    /// <summary>The command and its arguments.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string[] Command { get; set; } = [];

    /// <summary>Variables added to (or replacing in) the container's environment.</summary>
    [Parameter]
    [Alias("Env")]
    public Hashtable? Environment { get; set; }

    /// <summary>user[:group] to run as (default: the container's user).</summary>
    [Parameter]
    public string? User { get; set; }

    [Parameter]
    [Alias("Workdir")]
    public string? WorkingDirectory { get; set; }

    /// <summary>
    /// The command's standard input, as a native command's: strings are lines (each ends with \n), bytes and byte
    /// arrays go as they are, other objects as their string form. Stdin is closed at the end of the input.
    /// </summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = ByName)]
    public PSObject? InputObject { get; set; }

    // Pipeline input is stdin only when the container was named on the command line: `Get-Container | Invoke-
    // ContainerCommand -Command ls` pipes the targets (bound to -Name by property), not data.
    private bool feedsInput;
    private ExecProcess? exec;
    private string execShown = "";
    private bool firstErrorLine = true;

    protected override void BeginProcessing()
    {
        bool named = MyInvocation.BoundParameters.ContainsKey(nameof(Name));
        feedsInput = MyInvocation.BoundParameters.ContainsKey(nameof(InputObject)) || (named && MyInvocation.ExpectingInput);
    }

    private ExecOptions Options() => new()
    {
        Command = Command,
        Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "") ?? new Dictionary<string, string>(),
        User = User,
        WorkingDirectory = WorkingDirectory,
    };

    protected override void ProcessRecord()
    {
        if (feedsInput)
        {
            FeedInput();
            return;
        }
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, $"Run {string.Join(' ', Command)}")) continue;
            int exitCode = -1;
            try
            {
                firstErrorLine = true;
                foreach (var line in Engine.Service.RunExec(key, Options(), code => exitCode = code, Cancellation))
                    WriteLine(line, shown);
                SessionState.PSVariable.Set("global:LASTEXITCODE", exitCode);
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    private void WriteLine(ContainerLogRecord line, string shown)
    {
        if (line.Stream == "stderr")
        {
            // As Start-Container -Image shows it: the line alone, as pwsh shows a native command's stderr.
            WriteError(NativeErrorLineRecord.Create(line.Line, firstErrorLine, shown));
            firstErrorLine = false;
        }
        else
        {
            WriteObject(line.Line);
        }
    }

    /// <summary>Stdin mode: the exec starts with the first input and gets each object as it arrives.</summary>
    private void FeedInput()
    {
        if (!StartFeeding()) return;
        foreach (var chunk in Encode(InputObject))
            if (!exec!.Write(chunk)) break;
        foreach (var line in exec!.Available()) WriteLine(line, execShown);
    }

    /// <summary>Starts the exec on the first input (or at the end, for an empty pipeline); false when declined.</summary>
    private bool StartFeeding()
    {
        if (exec is null)
        {
            var targets = Targets().ToList();
            if (targets.Count != 1)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException($"Standard input goes to one container; {string.Join(", ", Name)} names {targets.Count}."),
                    "InputNeedsOneContainer", ErrorCategory.InvalidArgument, Name));
            var (key, shown) = targets[0];
            if (!ShouldProcess(shown, $"Run {string.Join(' ', Command)}"))
            {
                feedsInput = false;
                return false;
            }
            try
            {
                exec = Engine.Service.StartInputExec(key, Options());
                execShown = shown;
                Cancellation.Register(() => exec.Kill());
            }
            catch (EngineException e)
            {
                ThrowEngineError(e);
            }
        }
        return true;
    }

    private static IEnumerable<byte[]> Encode(PSObject? input)
    {
        object? value = input?.BaseObject;
        switch (value)
        {
            case null:
                yield break;
            case byte[] bytes:
                yield return bytes;
                break;
            case byte b:
                yield return [b];
                break;
            case string s:
                yield return Encoding.UTF8.GetBytes(s + "\n");
                break;
            case IEnumerable items when value is not IDictionary:
                // -InputObject 'a','b': each element, as the pipeline would have sent them.
                foreach (var item in items)
                    foreach (var chunk in Encode(item is null ? null : PSObject.AsPSObject(item)))
                        yield return chunk;
                break;
            default:
                yield return Encoding.UTF8.GetBytes(LanguagePrimitives.ConvertTo<string>(input) + "\n");
                break;
        }
    }

    protected override void EndProcessing()
    {
        base.EndProcessing();
        // An empty pipeline still runs the command, with its stdin at EOF at once (as a native command's).
        if (feedsInput && exec is null) StartFeeding();
        if (exec is null) return;
        try
        {
            foreach (var line in exec.ReadToEnd(Cancellation)) WriteLine(line, execShown);
            SessionState.PSVariable.Set("global:LASTEXITCODE", exec.Wait());
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            exec.Dispose();
            exec = null;
        }
    }

    /// <summary>A pipeline stopped before EndProcessing (an error downstream, Ctrl+C) must not leave the exec running.</summary>
    public void Dispose()
    {
        exec?.Dispose();
        exec = null;
    }
}
