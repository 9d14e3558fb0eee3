using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Waits until containers exit and returns their exit codes (docker wait), or until they are healthy or removed.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Container", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerExit), typeof(Container))]
public sealed class WaitContainerCommand : ContainerTargetCmdlet
{
    /// <summary>Give up after this many seconds (a non-terminating timeout error).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>NotRunning (exited, the default), NextExit (the exit of the current or next run), Healthy (its healthcheck
    /// passed: returns the container) or Removed.</summary>
    [Parameter]
    [ValidateSet("NotRunning", "NextExit", "Healthy", "Removed")]
    public string Condition { get; set; } = "NotRunning";

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            try
            {
                using var timeout = Timeout is int t ? new CancellationTokenSource(TimeSpan.FromSeconds(t)) : new CancellationTokenSource();
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, Cancellation);
                var condition = Enum.Parse<WaitCondition>(Condition, ignoreCase: true);
                var result = Engine.Service.Wait(key, condition, linked.Token);
                // docker wait answers 0 at once for a container never started; there is no exit to return here.
                if (result.NotStarted)
                    throw new EngineException("ContainerNotStarted", ErrorKind.InvalidOperation, result.Name, $"Container {result.Name} has not been started.");
                WriteObject(result.Container is { } healthy ? healthy : result.ToExit());
            }
            catch (OperationCanceledException) when (!Cancellation.IsCancellationRequested)
            {
                WriteError(new ErrorRecord(new TimeoutException($"Container {shown} did not {(Condition.ToLowerInvariant() switch { "healthy" => "become healthy", "removed" => "get removed", _ => "exit" })} within {Timeout} s."), "WaitTimeout", ErrorCategory.OperationTimeout, shown));
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
