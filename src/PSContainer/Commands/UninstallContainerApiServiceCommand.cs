using System.Management.Automation;
using PSContainer.Engine.Service;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes the systemd unit Install-ContainerApiService wrote (disabling it first where systemd runs it).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "ContainerApiService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class UninstallContainerApiServiceCommand : ServiceUnitRemovalCmdlet
{
    protected override string UnitDescription => "the Docker API unit";

    protected override string UnitName(string root) => ApiServiceUnit.UnitName(root);

    protected override bool Uninstall(string directory, string root) => ApiServiceUnit.Uninstall(directory, root);
}
