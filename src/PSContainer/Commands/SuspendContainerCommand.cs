using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Freezes every process of running containers (docker pause).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class SuspendContainerCommand : ContainerTargetCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, "Pause container")) continue;
            try
            {
                var c = Engine.Service.Pause(key);
                if (PassThru) WriteObject(c);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
