using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Thaws paused containers (docker unpause).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class ResumeContainerCommand : ContainerTargetCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, "Resume container")) continue;
            try
            {
                var c = Engine.Service.Unpause(key);
                if (PassThru) WriteObject(c);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
