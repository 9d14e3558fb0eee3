using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using PSContainer.Engine.Networks;

namespace PSContainer.Dns;

/// <summary>
/// psc-dns: answers A, AAAA and PTR queries for the containers of one network from a hosts-style records file the
/// engine rewrites (reloaded when it changes), and forwards other names to the host's resolvers. Single-label names
/// it does not know get NXDOMAIN without being forwarded (dnsmasq's domain-needed). It exits when its records file
/// goes away, so it never outlives its network for long even if nobody stops it.
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
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--listen": listen = args[i + 1]; break;
                case "--port": port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--records": recordsPath = args[i + 1]; break;
                case "--ready-file": ready = args[i + 1]; break;
                case "--resolv-conf": resolvConf = args[i + 1]; break;
                default: Console.Error.WriteLine($"psc-dns: unknown option {args[i]}"); return 2;
            }
        }
        Socket socket;
        try
        {
            if (!IPAddress.TryParse(listen, out var address)) throw new ArgumentException($"--listen '{listen}' is not an address");
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address, port));
            upstream = ReadResolvers(resolvConf, address);
            Reload();
        }
        catch (Exception e)
        {
            Report(ready, $"error {e.Message}");
            return 1;
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Environment.Exit(0));
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        Report(ready, $"ok {Environment.ProcessId}");
        Serve(socket);
        return 0;
    }

    private static void Report(string path, string line)
    {
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

    /// <returns>false when the records file is gone (the network was removed).</returns>
    private static bool Reload()
    {
        var info = new FileInfo(recordsPath);
        if (!info.Exists) return false;
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

    private static void Serve(Socket socket)
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
                else if (forward) _ = Task.Run(() => Forward(socket, query, client));
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

    private static void Forward(Socket server, byte[] query, IPEndPoint client)
    {
        foreach (var resolver in upstream)
        {
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.ReceiveTimeout = 2000;
                s.SendTo(query, resolver);
                var buffer = new byte[4096];
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int n = s.ReceiveFrom(buffer, ref from);
                server.SendTo(buffer.AsSpan(0, n), client);
                return;
            }
            catch (SocketException)
            {
            }
        }
        var q = DnsMessage.ParseQuery(query);
        if (q is not null) server.SendTo(DnsMessage.BuildResponse(query, q, DnsMessage.RcodeServFail), client);
    }
}
