using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Services;

/// <summary>A running psc-api: what a client needs (DockerHost) and what stops it (Pid).</summary>
public sealed class ApiServiceInfo
{
    public int Pid { get; init; }
    public string SocketPath { get; init; } = "";
    public string LogPath { get; init; } = "";
    /// <summary>The DOCKER_HOST value for clients: unix://SocketPath.</summary>
    public string DockerHost => "unix://" + SocketPath;
    public string StateRoot { get; init; } = "";
    /// <summary>tcp://ADDRESS:PORT when the server also listens on TCP (mutual TLS), else null.</summary>
    public string? TcpAddress { get; init; }
}

/// <summary>
/// The TCP listener of psc-api: an address and port, the server's certificate and key, and the CA whose certificates
/// clients must show (mutual TLS: the API gives root, so plain TCP is never served). Files are PEM.
/// </summary>
public sealed record ApiTcpSettings(string Address, string CertificateFile, string KeyFile, string ClientCaFile)
{
    /// <summary>psc-api's arguments for it.</summary>
    public IEnumerable<string> Arguments() => ["--tcp", Address, "--tlscert", CertificateFile, "--tlskey", KeyFile, "--tlscacert", ClientCaFile];

    public string DockerHost => "tcp://" + (Address.StartsWith("tcp://", StringComparison.Ordinal) ? Address["tcp://".Length..] : Address);

    /// <summary>
    /// The settings from a front end's four options, all or none (plain TCP would give root to anyone who connects);
    /// paths are full. Null when none is given.
    /// </summary>
    public static ApiTcpSettings? From(string? address, string? certificateFile, string? keyFile, string? clientCaFile)
    {
        string?[] files = [certificateFile, keyFile, clientCaFile];
        if (address is null && files.All(f => f is null)) return null;
        if (address is null || files.Any(f => f is null))
            throw new EngineException("ApiTcpNeedsMutualTls", ErrorKind.InvalidArgument, address ?? "TcpAddress",
                "The Docker API is served on TCP with mutual TLS only: give -TcpAddress with -TlsCertificate, -TlsKey and -TlsCaCertificate.");
        foreach (string f in files!)
            if (!File.Exists(f))
                throw new EngineException("ApiTlsFileNotFound", ErrorKind.ObjectNotFound, f, $"Cannot find the TLS file '{f}'.");
        return new ApiTcpSettings(address, Path.GetFullPath(certificateFile!), Path.GetFullPath(keyFile!), Path.GetFullPath(clientCaFile!));
    }
}

/// <summary>
/// Starts and stops psc-api, the Docker Engine API server, as a detached process (its own session: it outlives the
/// pwsh that started it) serving the state root of the environment. Its pid file sits beside its socket.
/// </summary>
public static class ApiServiceHost
{
    public const string DefaultSocket = "/run/pscontainer/docker.sock";

    public static string Binary => Path.Combine(Path.GetDirectoryName(typeof(ApiServiceHost).Assembly.Location)!, "psc-api");

    public static string PidFileOf(string socketPath) => socketPath + ".pid";

    public static ApiServiceInfo Start(StatePaths paths, string? socketPath, string? logPath, string? group, CancellationToken cancel, ApiTcpSettings? tcp = null)
    {
        string socket = Path.GetFullPath(socketPath ?? DefaultSocket);
        string log = Path.GetFullPath(logPath ?? Path.Combine(paths.RunRoot, "psc-api.log"));
        if (!File.Exists(Binary))
            throw new EngineException("ApiServiceNotInstalled", ErrorKind.NotInstalled, Binary, $"psc-api is missing: {Binary}. Rebuild the module.");
        if (Answers(socket))
            throw new EngineException("ApiServiceRunning", ErrorKind.ResourceExists, socket, $"A server already answers on {socket}; stop it first (Stop-ContainerApiService -SocketPath {socket}).");
        // setsid --fork: the server gets a session of its own (no terminal's hangup reaches it) and, its parent
        // having exited, init for a parent, so it is never left a zombie of this pwsh when it stops.
        var psi = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "--fork", Binary, "--socket", socket, "--root", paths.Root, "--runroot", paths.RunRoot, "--log", log, "--pid-file", PidFileOf(socket) })
            psi.ArgumentList.Add(a);
        if (group is not null)
        {
            psi.ArgumentList.Add("--group");
            psi.ArgumentList.Add(group);
        }
        foreach (string a in tcp?.Arguments() ?? []) psi.ArgumentList.Add(a);
        if (DotnetRoot() is { } dotnetRoot) psi.Environment["DOTNET_ROOT"] = dotnetRoot;
        string pidFile = PidFileOf(socket);
        if (File.Exists(pidFile)) File.Delete(pidFile); // a stale one must not be taken for the new server's
        using var process = Process.Start(psi) ?? throw new EngineException("ApiServiceStartFailed", ErrorKind.InvalidOperation, socket, "Could not start psc-api.");
        process.StandardInput.Close();
        // The server holds the write end of this pipe for its life: its end (EOF) before the server answers means it
        // exited, and what it wrote says why.
        var stderr = process.StandardError.ReadToEndAsync(cancel);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (File.Exists(pidFile) && Pings(socket)) break;
            if (stderr.IsCompleted)
            {
                string why = stderr.IsCompletedSuccessfully ? stderr.Result.Trim() : "";
                throw new EngineException("ApiServiceStartFailed", ErrorKind.InvalidOperation, socket,
                    $"psc-api exited before it answered on {socket}: {(why.Length > 0 ? why : "see " + log)}");
            }
            if (DateTime.UtcNow > deadline)
            {
                if (ReadPid(pidFile) is int stuck) ProcessSignal.Send(stuck, ProcessSignal.SIGTERM);
                throw new EngineException("ApiServiceStartFailed", ErrorKind.OperationStopped, socket, $"psc-api did not answer on {socket} within 30 seconds; see {log}.");
            }
            Thread.Sleep(50);
        }
        int pid = ReadPid(pidFile) ?? throw new EngineException("ApiServiceStartFailed", ErrorKind.InvalidData, pidFile, $"psc-api answered but its pid file {pidFile} is unreadable.");
        return new ApiServiceInfo { Pid = pid, SocketPath = socket, LogPath = log, StateRoot = paths.Root, TcpAddress = tcp?.DockerHost };
    }

    /// <summary>
    /// psc-api is a .NET app host: it finds the runtime (and ASP.NET Core's) where this process's runtime is, as
    /// psc-dns does, when that installation has ASP.NET Core (then this is its DOTNET_ROOT); otherwise (null) in the default places.
    /// </summary>
    public static string? DotnetRoot()
    {
        string dotnetRoot = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        return Directory.Exists(Path.Combine(dotnetRoot, "shared", "Microsoft.AspNetCore.App")) ? dotnetRoot : null;
    }

    private static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Stops the server on <paramref name="socketPath"/> (SIGTERM, then waits for it to go). False when none ran.</summary>
    public static bool Stop(string? socketPath, TimeSpan timeout)
    {
        string socket = Path.GetFullPath(socketPath ?? DefaultSocket);
        string pidFile = PidFileOf(socket);
        if (!File.Exists(pidFile)) return false;
        if (ReadPid(pidFile) is not int pid || !IsServerOf(pid, socket))
        {
            // The server that wrote it is gone (killed, or the host rebooted and the pid is someone else's).
            File.Delete(pidFile);
            return false;
        }
        long started = ProcessInfo.StartTime(pid);
        if (!ProcessSignal.Send(pid, ProcessSignal.SIGTERM)) return false;
        var deadline = DateTime.UtcNow + timeout;
        while (ProcessInfo.IsAlive(pid, started))
        {
            if (DateTime.UtcNow > deadline)
                throw new EngineException("ApiServiceStopTimeout", ErrorKind.OperationStopped, socket, $"psc-api ({pid}) did not stop within {timeout.TotalSeconds:0} seconds.");
            Thread.Sleep(50);
        }
        if (File.Exists(pidFile)) File.Delete(pidFile);
        if (File.Exists(socket)) File.Delete(socket);
        return true;
    }

    /// <summary>The process is a psc-api serving this socket (its command line says so).</summary>
    private static bool IsServerOf(int pid, string socket)
    {
        try
        {
            string[] argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            int at = Array.IndexOf(argv, "--socket");
            return argv.Any(a => Path.GetFileName(a) is "psc-api" or "psc-api.dll") && at >= 0 && at + 1 < argv.Length && argv[at + 1] == socket;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>GET /_ping on the socket answers OK, as a docker client's first request expects.</summary>
    public static bool Pings(string socket)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancel);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            return client.GetStringAsync("http://localhost/_ping").GetAwaiter().GetResult() == "OK";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>Something accepts connections on the socket.</summary>
    public static bool Answers(string socket)
    {
        if (!Path.Exists(socket)) return false;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socket));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
