using PSContainer.Engine.Services;

namespace PSContainer.Engine.Service;

/// <summary>What Install-ContainerApiService wants in its unit: the root it serves and how psc-api listens and logs.</summary>
public sealed record ApiServiceUnitOptions(string Root, string RunRoot, string SocketPath)
{
    public string? Group { get; init; }
    /// <summary>A log file; null sends the log to the journal (psc-api logs to stderr when systemd runs it).</summary>
    public string? LogPath { get; init; }
    public ApiTcpSettings? Tcp { get; init; }
}

/// <summary>
/// The systemd unit that runs psc-api, the Docker API server, as dockerd's docker.service runs dockerd: a simple
/// service (psc-api stays in the foreground), restarted when it fails, for one state root. Written and enabled as
/// BootService writes its unit: enabled only in the system directory where systemd is init.
/// </summary>
public static class ApiServiceUnit
{
    /// <summary>pscontainer-api.service for the default root; pscontainer-api-&lt;hash&gt;.service for any other.</summary>
    public static string UnitName(string root) => "pscontainer-api" + BootService.UnitName(root)["pscontainer".Length..];

    public static string UnitText(ApiServiceUnitOptions o, string binary, string? dotnetRoot)
    {
        var command = new List<string> { binary, "--socket", o.SocketPath, "--root", o.Root, "--runroot", o.RunRoot };
        if (o.Group is not null) command.AddRange(["--group", o.Group]);
        if (o.LogPath is not null) command.AddRange(["--log", o.LogPath]);
        if (o.Tcp is not null) command.AddRange(o.Tcp.Arguments());
        string environment = dotnetRoot is null ? "" : $"Environment={BootService.Quote("DOTNET_ROOT=" + dotnetRoot)}\n";
        string logs = o.LogPath is null ? "the journal" : o.LogPath;
        return $"""
            # Written by Install-ContainerApiService (PSContainer): the Docker Engine API for state root {o.Root}.
            # DOCKER_HOST=unix://{o.SocketPath}{(o.Tcp is null ? "" : " or " + o.Tcp.DockerHost + " (mutual TLS)")}; logs: {logs}.
            [Unit]
            Description=PSContainer Docker API (psc-api) for {o.Root}
            Documentation=https://docs.docker.com/engine/api/
            Wants=network-online.target
            After=network-online.target local-fs.target

            [Service]
            Type=simple
            {environment}ExecStart={string.Join(' ', command.Select(BootService.Quote))}
            Restart=on-failure
            RestartSec=2s
            KillSignal=SIGTERM
            TimeoutStopSec=30s

            [Install]
            WantedBy=multi-user.target

            """.ReplaceLineEndings("\n");
    }

    public static BootServiceResult Install(string unitDirectory, ApiServiceUnitOptions options)
    {
        if (!File.Exists(ApiServiceHost.Binary))
            throw new EngineException("ApiServiceNotInstalled", ErrorKind.NotInstalled, ApiServiceHost.Binary, $"psc-api is missing: {ApiServiceHost.Binary}. Rebuild the module.");
        return BootService.WriteUnit(unitDirectory, UnitName(options.Root), UnitText(options, ApiServiceHost.Binary, ApiServiceHost.DotnetRoot()));
    }

    /// <summary>Disables (where systemd manages it) and removes the unit; false when there was none.</summary>
    public static bool Uninstall(string unitDirectory, string root) => BootService.RemoveUnit(unitDirectory, UnitName(root));
}
