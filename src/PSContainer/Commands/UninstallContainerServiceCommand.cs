using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Service;
using PSContainer.Engine.Storage;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes the systemd unit Install-ContainerService wrote (disabling it first where systemd runs it).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "ContainerService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class UninstallContainerServiceCommand : PSContainerCmdlet
{
    /// <summary>Where the unit is (default /etc/systemd/system).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string UnitDirectory { get; set; } = BootService.SystemUnitDirectory;

    /// <summary>The state root whose unit to remove (default $env:PSCONTAINER_ROOT or /var/lib/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateRoot { get; set; }

    protected override void ProcessRecord()
    {
        string root = GetUnresolvedProviderPathFromPSPath(StateRoot ?? StatePaths.FromEnvironment().Root);
        string directory = GetUnresolvedProviderPathFromPSPath(UnitDirectory);
        string unit = Path.Combine(directory, BootService.UnitName(root));
        if (!ShouldProcess(unit, "Remove the boot unit")) return;
        try
        {
            if (!BootService.Uninstall(directory, root))
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no unit {unit}."), "ServiceUnitNotFound", ErrorCategory.ObjectNotFound, unit));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
