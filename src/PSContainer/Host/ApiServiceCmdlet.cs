using System.Management.Automation;
using PSContainer.Engine.Services;

namespace PSContainer.Host;

/// <summary>
/// What Start-ContainerApiService and Install-ContainerApiService both say about a psc-api: its socket, group, log
/// file and TCP listener (mutual TLS, all four parameters or none).
/// </summary>
public abstract class ApiServiceCmdlet : PSContainerCmdlet
{
    /// <summary>The socket to listen on (default /run/pscontainer/docker.sock); made 0660, owned by root.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string SocketPath { get; set; } = ApiServiceHost.DefaultSocket;

    /// <summary>The server's log file.</summary>
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

    protected string? FullPath(string? path) => path is null ? null : GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>The TCP listener's settings, null without one; an EngineException when only part of them is given.</summary>
    protected ApiTcpSettings? TcpSettings() => ApiTcpSettings.From(TcpAddress, FullPath(TlsCertificate), FullPath(TlsKey), FullPath(TlsCaCertificate));
}
