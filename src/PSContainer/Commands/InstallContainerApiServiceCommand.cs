using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Service;
using PSContainer.Engine.Services;
using PSContainer.Engine.Storage;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Installs a systemd unit that runs psc-api, the Docker API server, for a state root.</para>
/// <para type="description">The unit runs psc-api in the foreground (Type=simple, restarted on failure) with the socket,
/// group, log file and TCP/TLS listener given here. Without -LogPath the server logs to the journal. Only in
/// /etc/systemd/system, on a host whose init is systemd, is the unit enabled.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Install, "ContainerApiService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileInfo))]
public sealed class InstallContainerApiServiceCommand : ApiServiceCmdlet
{
    /// <summary>Where the unit goes (default /etc/systemd/system; only there is it enabled).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("Path")]
    public string UnitDirectory { get; set; } = BootService.SystemUnitDirectory;

    /// <summary>The state root the server serves (default $env:PSCONTAINER_ROOT or /var/lib/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateRoot { get; set; }

    /// <summary>The runtime root (default $env:PSCONTAINER_RUNROOT or /run/pscontainer).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunRoot { get; set; }

    protected override void ProcessRecord()
    {
        var defaults = StatePaths.FromEnvironment();
        string root = FullPath(StateRoot ?? defaults.Root)!;
        string directory = FullPath(UnitDirectory)!;
        string unit = Path.Combine(directory, ApiServiceUnit.UnitName(root));
        try
        {
            var options = new ApiServiceUnitOptions(root, FullPath(RunRoot ?? defaults.RunRoot)!, FullPath(SocketPath)!)
            {
                Group = Group,
                LogPath = FullPath(LogPath),
                Tcp = TcpSettings(),
            };
            if (!ShouldProcess(unit, "Install the Docker API unit of state root " + root)) return;
            var result = ApiServiceUnit.Install(directory, options);
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
