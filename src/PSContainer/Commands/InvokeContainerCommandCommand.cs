using System.Collections;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Runs a command in a running container (docker exec).</para>
/// <para type="description">Standard output comes down the pipeline as strings, standard error as error records,
/// and $LASTEXITCODE is the command's exit code, as for a native command.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(string))]
public sealed class InvokeContainerCommandCommand : ContainerTargetCmdlet
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

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, $"Run {string.Join(' ', Command)}")) continue;
            int exitCode = -1;
            try
            {
                var options = new ExecOptions
                {
                    Command = Command,
                    Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "") ?? new Dictionary<string, string>(),
                    User = User,
                    WorkingDirectory = WorkingDirectory,
                };
                bool firstErrorLine = true;
                foreach (var line in Engine.Containers.Exec(key, options, code => exitCode = code, Cancellation))
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
}
