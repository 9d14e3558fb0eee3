using System.Management.Automation;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Stops and starts containers again (docker restart).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class RestartContainerCommand : ContainerTargetCmdlet
{
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? Timeout { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, "Restart container")) continue;
            TimeSpan? timeout = Timeout is int t ? TimeSpan.FromSeconds(t) : null;
            RunConcurrently(key, shown, () => Engine.Service.Restart(key, timeout), PassThru);
        }
    }
}
