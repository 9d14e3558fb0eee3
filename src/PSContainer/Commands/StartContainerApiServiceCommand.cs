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
public sealed class StartContainerApiServiceCommand : ApiServiceCmdlet
{
    protected override void ProcessRecord()
    {
        string socket = GetUnresolvedProviderPathFromPSPath(SocketPath);
        string? log = FullPath(LogPath);
        try
        {
            var tcp = TcpSettings();
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
