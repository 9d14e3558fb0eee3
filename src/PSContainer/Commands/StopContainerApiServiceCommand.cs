using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Stops the psc-api server on a socket (started by Start-ContainerApiService).</para>
/// <para type="description">Containers keep running: they belong to their monitors, not to the server.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "ContainerApiService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(void))]
public sealed class StopContainerApiServiceCommand : PSContainerCmdlet
{
    /// <summary>The socket of the server to stop (default /run/pscontainer/docker.sock).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string SocketPath { get; set; } = ApiServiceHost.DefaultSocket;

    protected override void ProcessRecord()
    {
        string socket = GetUnresolvedProviderPathFromPSPath(SocketPath);
        if (!ShouldProcess(socket, "Stop the Docker API service")) return;
        try
        {
            if (!ApiServiceHost.Stop(socket, TimeSpan.FromSeconds(30)))
                WriteError(new ErrorRecord(new InvalidOperationException($"No psc-api server runs on {socket}."), "ApiServiceNotRunning", ErrorCategory.ObjectNotFound, socket));
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
    }
}
