using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Service;
using PSContainer.Engine.Storage;

namespace PSContainer.Host;

/// <summary>
/// What Uninstall-ContainerService and Uninstall-ContainerApiService share: the unit directory and state root that
/// name the unit, the confirmation, and the error for a unit that is not there. Each says which unit it removes.
/// </summary>
public abstract class ServiceUnitRemovalCmdlet : PSContainerCmdlet
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

    /// <summary>What the confirmation calls the unit ("the boot unit").</summary>
    protected abstract string UnitDescription { get; }

    protected abstract string UnitName(string root);

    /// <summary>Removes the unit; false when there was none.</summary>
    protected abstract bool Uninstall(string directory, string root);

    protected override void ProcessRecord()
    {
        string root = GetUnresolvedProviderPathFromPSPath(StateRoot ?? StatePaths.FromEnvironment().Root);
        string directory = GetUnresolvedProviderPathFromPSPath(UnitDirectory);
        string unit = Path.Combine(directory, UnitName(root));
        if (!ShouldProcess(unit, "Remove " + UnitDescription)) return;
        try
        {
            if (!Uninstall(directory, root))
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no unit {unit}."), "ServiceUnitNotFound", ErrorCategory.ObjectNotFound, unit));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
