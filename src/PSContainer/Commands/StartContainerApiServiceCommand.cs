using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Starts psc-api, the Docker Engine API server, on a Unix socket for this state root.</para>
/// <para type="description">The server runs detached (it outlives this session) and serves the containers and images
/// the cmdlets see, so the docker CLI and other Docker API clients can drive them with DOCKER_HOST=unix://SOCKET.
/// Returns once GET /_ping answers.</para>
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

    protected override void ProcessRecord()
    {
        string socket = GetUnresolvedProviderPathFromPSPath(SocketPath);
        string? log = LogPath is null ? null : GetUnresolvedProviderPathFromPSPath(LogPath);
        if (!ShouldProcess(socket, "Start the Docker API service")) return;
        try
        {
            WriteObject(ApiServiceHost.Start(Engine.Paths, socket, log, Group, Cancellation));
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
