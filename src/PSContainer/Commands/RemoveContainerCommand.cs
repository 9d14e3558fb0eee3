using System.Management.Automation;
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

    /// <summary>Also remove the container's anonymous volumes (docker rm -v); named volumes stay.</summary>
    [Parameter]
    public SwitchParameter Volumes { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (key, shown) in Targets())
        {
            if (!ShouldProcess(shown, "Remove container")) continue;
            bool force = Force, volumes = Volumes;
            // A forced removal kills and waits for the container: all of them at once, like stopping.
            RunConcurrently(key, shown, () =>
            {
                Engine.Service.Remove(key, force, volumes);
                return null;
            }, passThru: false);
        }
    }
}
