using System.Management.Automation;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Stops containers: SIGTERM, then SIGKILL after -Timeout (docker stop); with -Signal, sends just that signal (docker kill).</para>
/// <para type="description">Every container on the pipeline is signalled as it arrives and all are waited for together, so
/// stopping N containers takes about one grace period, not N.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class StopContainerCommand : ContainerTargetCmdlet
{
    /// <summary>Seconds to wait after the stop signal before SIGKILL (default: the container's -StopTimeout, else 10).</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? Timeout { get; set; }

    /// <summary>A signal to send instead of stopping (KILL, SIGHUP, 9…).</summary>
    [Parameter]
    public string? Signal { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, Signal is null ? "Stop container" : $"Send {Signal} to container")) continue;
            TimeSpan? timeout = Timeout is int t ? TimeSpan.FromSeconds(t) : null;
            string? signal = Signal;
            RunConcurrently(key, shown, () => Engine.Service.StopContainer(key, timeout, signal).Container, PassThru);
        }
    }
}
