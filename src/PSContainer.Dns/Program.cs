using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using PSContainer.Engine.Networks;

namespace PSContainer.Dns;

/// <summary>
/// psc-dns: answers A, AAAA and PTR queries for the containers of one network from a hosts-style records file the
/// engine rewrites (reloaded when it changes), and forwards other names to the host's resolvers. Single-label names
/// it does not know get NXDOMAIN without being forwarded (dnsmasq's domain-needed). It exits when its records file
/// goes away, so it never outlives its network for long even if nobody stops it. It runs as nobody with no capability
/// once its socket is bound (<see cref="Confinement"/>), accepts a resolver's reply only to the query it sent there,
/// and lets at most <see cref="Forwarder.MaxInFlight"/> forwarded queries wait at once (<see cref="Forwarder"/>).
/// </summary>
public static class Program
{
    private static string recordsPath = "";
    private static DateTime recordsTime;
    private static long recordsLength = -1;
    private static Dictionary<string, List<uint>> names = new(StringComparer.OrdinalIgnoreCase);
    private static Dictionary<uint, string> reverse = new();
    private static IPEndPoint[] upstream = [];

    public static int Main(string[] args)
    {
        string listen = "", ready = "", resolvConf = "/etc/resolv.conf";
        int port = 53;
        for (int i = 0; i < args.Length; i += 2)
        {
            // Every option takes a value: one left without it is an error, not silently ignored.
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"psc-dns: option {args[i]} needs a value");
                return 2;
            }
            switch (args[i])
            {
                case "--listen": listen = args[i + 1]; break;
                case "--port":
                    if (!int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                    {
                        Console.Error.WriteLine($"psc-dns: --port '{args[i + 1]}' is not a port number");
                        return 2;
                    }
                    break;
                case "--records": recordsPath = args[i + 1]; break;
                case "--ready-file": ready = args[i + 1]; break;
                case "--resolv-conf": resolvConf = args[i + 1]; break;
                default: Console.Error.WriteLine($"psc-dns: unknown option {args[i]}"); return 2;
            }
        }
        Socket socket;
        FileStream? readyFile = null;
        try
        {
            if (!IPAddress.TryParse(listen, out var address)) throw new ArgumentException($"--listen '{listen}' is not an address");
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address, port));
            upstream = ReadResolvers(resolvConf, address);
            // The records file is reached through its directory's descriptor from now on: nobody may not be able to
            // walk the path to it.
            string full = Path.GetFullPath(recordsPath);
            int dir = Confinement.OpenDirectory(Path.GetDirectoryName(full)!);
            recordsPath = $"/proc/self/fd/{dir}/{Path.GetFileName(full)}";
            Reload();
            // The ready file is opened while psc-dns may still create it; "ok" is written only once root is gone.
            if (ready.Length > 0) readyFile = new FileStream(ready, FileMode.Create, FileAccess.Write, FileShare.Read);
            Confinement.LoadAssemblies();
            Confinement.DropPrivileges();
        }
        catch (Exception e)
        {
            Report(ready, readyFile, $"error {e.Message}");
            return 1;
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Environment.Exit(0));
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        Report(ready, readyFile, $"ok {Environment.ProcessId}");
        Serve(socket, new Forwarder(socket, upstream));
        return 0;
    }

    /// <summary>Tells the engine how the start went: through the ready file opened before the privileges went, else by path (still root).</summary>
    private static void Report(string path, FileStream? opened, string line)
    {
        if (opened is not null)
        {
            opened.Write(System.Text.Encoding.UTF8.GetBytes(line + "\n"));
            opened.Dispose();
            return;
        }
        if (path.Length == 0) { Console.WriteLine(line); return; }
        string temp = path + ".tmp";
        File.WriteAllText(temp, line + "\n");
        File.Move(temp, path, overwrite: true);
    }

    private static IPEndPoint[] ReadResolvers(string resolvConf, IPAddress self)
    {
        if (!File.Exists(resolvConf)) return [];
        return File.ReadAllLines(resolvConf)
            .Select(l => l.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 2 && f[0] == "nameserver" && IPAddress.TryParse(f[1], out var a) && a.AddressFamily == AddressFamily.InterNetwork && !a.Equals(self))
            .Select(f => new IPEndPoint(IPAddress.Parse(f[1]), 53)).ToArray();
    }

    /// <returns>false when the records file is gone (the network was removed); a file it cannot read now (a
    /// permission problem) keeps the records it has rather than ending the server.</returns>
    /// <summary>Whether the path is truly absent (ENOENT), not merely unreadable to us (EACCES).</summary>
    private static bool Gone(string path)
    {
        try
        {
            File.OpenHandle(path, FileMode.Open, FileAccess.Read).Dispose();
            return false;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    private static bool Reload()
    {
        var info = new FileInfo(recordsPath);
        if (!info.Exists) return !Gone(recordsPath);
        if (info.LastWriteTimeUtc == recordsTime && info.Length == recordsLength) return true;
        try
        {
            var (n, r) = DnsMessage.ParseRecords(File.ReadAllText(recordsPath));
            names = n;
            reverse = r;
            recordsTime = info.LastWriteTimeUtc;
            recordsLength = info.Length;
        }
        catch (IOException)
        {
        }
        return true;
    }

    private static void Serve(Socket socket, Forwarder forwarder)
    {
        var buffer = new byte[4096];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        socket.ReceiveTimeout = 2000;
        while (true)
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, ref from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                if (!Reload()) return;
                continue;
            }
            catch (SocketException)
            {
                continue;
            }
            if (!Reload()) return;
            var query = buffer.AsSpan(0, n).ToArray();
            var client = (IPEndPoint)from;
            try
            {
                var reply = Answer(query, out bool forward);
                if (reply is not null) socket.SendTo(reply, client);
                else if (forward) forwarder.TryForward(query, DnsMessage.ParseQuery(query)!, client);
            }
            catch (Exception e) when (e is SocketException or ArgumentException or IndexOutOfRangeException)
            {
            }
        }
    }

    /// <summary>The reply for a query we answer ourselves, or null (forward it when <paramref name="forward"/>, else drop it).</summary>
    public static byte[]? Answer(byte[] query, out bool forward)
    {
        forward = false;
        var q = DnsMessage.ParseQuery(query);
        if (q is null) return null;
        if (q.Opcode != 0 || q.Class != DnsMessage.ClassIn) return DnsMessage.BuildResponse(query, q, DnsMessage.RcodeNotImp);
        if (names.TryGetValue(q.Name, out var addresses))
        {
            return q.Type switch
            {
                DnsMessage.TypeA => DnsMessage.BuildResponse(query, q, DnsMessage.RcodeNoError, addresses),
                _ => DnsMessage.BuildResponse(query, q, DnsMessage.RcodeNoError), // AAAA and others: the name exists, no such record
            };
        }
        if (q.Type == DnsMessage.TypePtr && DnsMessage.ReverseAddress(q.Name) is uint a && reverse.TryGetValue(a, out string? name))
            return DnsMessage.BuildResponse(query, q, DnsMessage.RcodeNoError, pointer: name);
        if (!q.Name.Contains('.') || upstream.Length == 0)
            return DnsMessage.BuildResponse(query, q, q.Name.Contains('.') ? DnsMessage.RcodeServFail : DnsMessage.RcodeNxDomain);
        forward = true;
        return null;
    }
}
