using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes what a killed session left half-made: veths, bridges, network namespaces, firewall rules and DNS servers nothing accounts for.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "ContainerState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
public sealed class RepairContainerStateCommand : PSContainerCmdlet
{
    protected override void ProcessRecord()
    {
        if (!ShouldProcess("container state", "Repair")) return;
        try
        {
            foreach (string item in Engine.Service.Repair()) WriteVerbose($"Removed {item}");
            // Containers a reboot or a killed psc-service left stopped that their restart policy keeps running.
            foreach (string item in Engine.Service.StartRestartable()) WriteVerbose(item);
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
