using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Service;
using PSContainer.Engine.Storage;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Installs a systemd unit that starts containers with a restart policy after a reboot.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Install, "ContainerService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileInfo))]
public sealed class InstallContainerServiceCommand : PSContainerCmdlet
{
    /// <summary>Where the unit goes (default /etc/systemd/system; only there is it enabled).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string UnitDirectory { get; set; } = BootService.SystemUnitDirectory;

    /// <summary>The state root the unit serves (default $env:PSCONTAINER_ROOT or /var/lib/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateRoot { get; set; }

    /// <summary>The runtime root the unit serves (default $env:PSCONTAINER_RUNROOT or /run/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunRoot { get; set; }

    protected override void ProcessRecord()
    {
        var defaults = StatePaths.FromEnvironment();
        string root = GetUnresolvedProviderPathFromPSPath(StateRoot ?? defaults.Root);
        string runRoot = GetUnresolvedProviderPathFromPSPath(RunRoot ?? defaults.RunRoot);
        string directory = GetUnresolvedProviderPathFromPSPath(UnitDirectory);
        string unit = Path.Combine(directory, BootService.UnitName(root));
        if (!ShouldProcess(unit, "Install the boot unit of state root " + root)) return;
        try
        {
            var result = BootService.Install(directory, root, runRoot);
            if (result.Note is not null) WriteWarning(result.Note);
            WriteObject(new FileInfo(result.UnitPath));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "ServiceUnitWriteFailed", ErrorCategory.WriteError, unit));
        }
    }
}
