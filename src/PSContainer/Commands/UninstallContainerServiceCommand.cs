using System.Management.Automation;
using PSContainer.Engine.Service;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes the systemd unit Install-ContainerService wrote (disabling it first where systemd runs it).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "ContainerService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class UninstallContainerServiceCommand : ServiceUnitRemovalCmdlet
{
    protected override string UnitDescription => "the boot unit";

    protected override string UnitName(string root) => BootService.UnitName(root);

    protected override bool Uninstall(string directory, string root) => BootService.Uninstall(directory, root);
}
