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
public sealed class InstallContainerApiServiceCommand : PSContainerCmdlet
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

    /// <summary>The socket to listen on (default /run/pscontainer/docker.sock).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string SocketPath { get; set; } = ApiServiceHost.DefaultSocket;

    /// <summary>A group given read/write access to the socket, as docker's docker group.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Group { get; set; }

    /// <summary>The server's log file; without it the server logs to the journal.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogPath { get; set; }

    /// <summary>Also listen on this TCP address, with mutual TLS (needs the three -Tls* files).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TcpAddress { get; set; }

    /// <summary>The server's TLS certificate (PEM) for the TCP listener.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TlsCertificate { get; set; }

    /// <summary>The private key (PEM) of -TlsCertificate.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TlsKey { get; set; }

    /// <summary>The CA (PEM) whose certificates clients must show on the TCP listener.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TlsCaCertificate { get; set; }

    private string? FullPath(string? path) => path is null ? null : GetUnresolvedProviderPathFromPSPath(path);

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
                Tcp = ApiTcpSettings.From(TcpAddress, FullPath(TlsCertificate), FullPath(TlsKey), FullPath(TlsCaCertificate)),
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
