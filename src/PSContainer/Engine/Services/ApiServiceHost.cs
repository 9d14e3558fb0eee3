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

    public static ApiServiceInfo Start(StatePaths paths, string? socketPath, string? logPath, string? group, CancellationToken cancel)
    {
        string socket = Path.GetFullPath(socketPath ?? DefaultSocket);
        string log = Path.GetFullPath(logPath ?? Path.Combine(paths.RunRoot, "psc-api.log"));
        if (!File.Exists(Binary))
            throw new EngineException("ApiServiceNotInstalled", ErrorKind.NotInstalled, Binary, $"psc-api is missing: {Binary}. Rebuild the module.");
        if (Answers(socket))
            throw new EngineException("ApiServiceRunning", ErrorKind.ResourceExists, socket, $"A server already answers on {socket}; stop it first (Stop-ContainerApiService -SocketPath {socket}).");
        var psi = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { Binary, "--socket", socket, "--root", paths.Root, "--runroot", paths.RunRoot, "--log", log, "--pid-file", PidFileOf(socket) })
            psi.ArgumentList.Add(a);
        if (group is not null)
        {
            psi.ArgumentList.Add("--group");
            psi.ArgumentList.Add(group);
        }
        using var process = Process.Start(psi) ?? throw new EngineException("ApiServiceStartFailed", ErrorKind.InvalidOperation, socket, "Could not start psc-api.");
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(cancel);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                string why = stderr.Wait(TimeSpan.FromSeconds(1)) ? stderr.Result.Trim() : "";
                throw new EngineException("ApiServiceStartFailed", ErrorKind.InvalidOperation, socket,
                    $"psc-api exited with {process.ExitCode} before it answered on {socket}: {(why.Length > 0 ? why : "see " + log)}");
            }
            if (File.Exists(PidFileOf(socket)) && Pings(socket)) break;
            if (DateTime.UtcNow > deadline)
            {
                ProcessSignal.Send(process.Id, ProcessSignal.SIGTERM);
                throw new EngineException("ApiServiceStartFailed", ErrorKind.OperationStopped, socket, $"psc-api did not answer on {socket} within 30 seconds; see {log}.");
            }
            Thread.Sleep(50);
        }
        return new ApiServiceInfo { Pid = process.Id, SocketPath = socket, LogPath = log, StateRoot = paths.Root };
    }

    /// <summary>Stops the server on <paramref name="socketPath"/> (SIGTERM, then waits for it to go). False when none ran.</summary>
    public static bool Stop(string? socketPath, TimeSpan timeout)
    {
        string socket = Path.GetFullPath(socketPath ?? DefaultSocket);
        string pidFile = PidFileOf(socket);
        if (!File.Exists(pidFile)) return false;
        if (!int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || !IsServerOf(pid, socket))
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
