using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Waits until containers exit and returns their exit codes (docker wait).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Container", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerExit))]
public sealed class WaitContainerCommand : ContainerTargetCmdlet
{
    /// <summary>Give up after this many seconds (a non-terminating timeout error).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Timeout { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            try
            {
                using var timeout = Timeout is int t ? new CancellationTokenSource(TimeSpan.FromSeconds(t)) : new CancellationTokenSource();
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, Cancellation);
                WriteObject(Engine.Containers.Wait(key, linked.Token));
            }
            catch (OperationCanceledException) when (!Cancellation.IsCancellationRequested)
            {
                WriteError(new ErrorRecord(new TimeoutException($"Container {shown} did not exit within {Timeout} s."), "WaitTimeout", ErrorCategory.OperationTimeout, shown));
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
