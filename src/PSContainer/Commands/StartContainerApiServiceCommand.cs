using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Starts psc-api, the Docker Engine API server, on a Unix socket for this state root.</para>
/// <para type="description">The server runs detached (it outlives this session) and serves the containers and images
/// the cmdlets see, so the docker CLI and other Docker API clients can drive them with DOCKER_HOST=unix://SOCKET.
/// Returns once GET /_ping answers. With -TcpAddress it also listens on TCP, with mutual TLS only: -TlsCertificate and
/// -TlsKey are the server's, and a client must show a certificate issued by -TlsCaCertificate (docker --tlsverify).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ContainerApiService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ApiServiceInfo))]
public sealed class StartContainerApiServiceCommand : PSContainerCmdlet
{
    /// <summary>The socket to listen on (default /run/pscontainer/docker.sock); made 0660, owned by root.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string SocketPath { get; set; } = ApiServiceHost.DefaultSocket;

    /// <summary>The server's log file (default psc-api.log in the runtime root).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogPath { get; set; }

    /// <summary>A group given read/write access to the socket, as docker's docker group.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Group { get; set; }

    /// <summary>Also listen on this TCP address (127.0.0.1:2376, [::1]:2376), with mutual TLS: needs -TlsCertificate, -TlsKey and -TlsCaCertificate.</summary>
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
        string socket = GetUnresolvedProviderPathFromPSPath(SocketPath);
        string? log = LogPath is null ? null : GetUnresolvedProviderPathFromPSPath(LogPath);
        try
        {
            var tcp = ApiTcpSettings.From(TcpAddress, FullPath(TlsCertificate), FullPath(TlsKey), FullPath(TlsCaCertificate));
            if (!ShouldProcess(socket + (tcp is null ? "" : " and " + tcp.DockerHost), "Start the Docker API service")) return;
            WriteObject(ApiServiceHost.Start(Engine.Paths, socket, log, Group, Cancellation, tcp));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
    }
}
