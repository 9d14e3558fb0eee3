using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes containers with their root filesystem changes, logs, cgroups and mounts (docker rm).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
public sealed class RemoveContainerCommand : ContainerTargetCmdlet
{
    /// <summary>Kill a running container first.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, "Remove container")) continue;
            try
            {
                Engine.Containers.Remove(key, Force);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
