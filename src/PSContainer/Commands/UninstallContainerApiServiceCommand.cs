using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Service;
using PSContainer.Engine.Storage;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes the systemd unit Install-ContainerApiService wrote (disabling it first where systemd runs it).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "ContainerApiService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class UninstallContainerApiServiceCommand : PSContainerCmdlet
{
    /// <summary>Where the unit is (default /etc/systemd/system).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("Path")]
    public string UnitDirectory { get; set; } = BootService.SystemUnitDirectory;

    /// <summary>The state root whose unit to remove (default $env:PSCONTAINER_ROOT or /var/lib/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateRoot { get; set; }

    protected override void ProcessRecord()
    {
        string root = GetUnresolvedProviderPathFromPSPath(StateRoot ?? StatePaths.FromEnvironment().Root);
        string directory = GetUnresolvedProviderPathFromPSPath(UnitDirectory);
        string unit = Path.Combine(directory, ApiServiceUnit.UnitName(root));
        if (!ShouldProcess(unit, "Remove the Docker API unit")) return;
        try
        {
            if (!ApiServiceUnit.Uninstall(directory, root))
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no unit {unit}."), "ServiceUnitNotFound", ErrorCategory.ObjectNotFound, unit));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
