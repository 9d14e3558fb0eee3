using System.Globalization;

namespace PSContainer.Api;

/// <summary>psc-api's command line: --socket, --group, --root, --runroot, --log, --pid-file, and --tcp with
/// --tlscert, --tlskey, --tlscacert (mutual TLS; plain TCP is refused).</summary>
public sealed class ServiceOptions
{
    public const string DefaultSocket = "/run/pscontainer/docker.sock";

    public string Socket { get; private set; } = DefaultSocket;
    public string? Group { get; private set; }
    public string? Root { get; private set; }
    public string? RunRoot { get; private set; }
    public string? LogPath { get; private set; }
    public string? PidFile { get; private set; }
    public TcpTlsOptions? Tcp { get; private set; }

    private const string Usage = "Usage: psc-api [--socket PATH] [--group NAME] [--root DIR] [--runroot DIR] [--log FILE] [--pid-file FILE] "
                                 + "[--tcp ADDRESS:PORT --tlscert FILE --tlskey FILE --tlscacert FILE]";

    public static ServiceOptions Parse(string[] args)
    {
        var o = new ServiceOptions();
        string? tcp = null, cert = null, key = null, ca = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--socket" or "-H": o.Socket = Value(); break;
                case "--group" or "-G": o.Group = Value(); break;
                case "--root": o.Root = Value(); break;
                case "--runroot": o.RunRoot = Value(); break;
                case "--log": o.LogPath = Value(); break;
                case "--pid-file": o.PidFile = Value(); break;
                case "--tcp": tcp = Value(); break;
                case "--tlscert": cert = Value(); break;
                case "--tlskey": key = Value(); break;
                case "--tlscacert": ca = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'. {Usage}");
            }
        }
        if (o.Socket.StartsWith("unix://", StringComparison.Ordinal)) o.Socket = o.Socket["unix://".Length..];
        o.Socket = Path.GetFullPath(o.Socket);
        if (tcp is not null)
        {
            // The API is root on this host: over the network only to clients that prove who they are.
            if (cert is null || key is null || ca is null)
                throw new ArgumentException($"--tcp {tcp} needs --tlscert, --tlskey and --tlscacert: the Docker API is served on TCP with mutual TLS only, never in plain text");
            o.Tcp = new TcpTlsOptions(TcpEndpoint(tcp), Path.GetFullPath(cert), Path.GetFullPath(key), Path.GetFullPath(ca));
        }
        else if (cert is not null || key is not null || ca is not null)
        {
            throw new ArgumentException("--tlscert, --tlskey and --tlscacert are for the TCP listener: give --tcp ADDRESS:PORT too");
        }
        return o;
    }

    /// <summary>ADDRESS:PORT, [IPv6]:PORT or tcp://ADDRESS:PORT, as dockerd's -H takes it; an address, not a host name.</summary>
    public static System.Net.IPEndPoint TcpEndpoint(string text)
    {
        string t = text.StartsWith("tcp://", StringComparison.Ordinal) ? text["tcp://".Length..] : text;
        // An IPv6 address needs its brackets, or its last group would be taken for the port.
        bool bracketsIfV6 = !t.StartsWith('[') == (t.Count(c => c == ':') == 1);
        if (bracketsIfV6 && System.Net.IPEndPoint.TryParse(t, out var endpoint) && endpoint.Port > 0) return endpoint;
        throw new ArgumentException($"--tcp '{text}' is not ADDRESS:PORT (127.0.0.1:2376, [::1]:2376)");
    }

    /// <summary>The gid of a group in /etc/group, by name or number.</summary>
    public static uint GroupId(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid)) return gid;
        foreach (string line in File.ReadLines("/etc/group"))
        {
            string[] f = line.Split(':');
            if (f.Length >= 3 && f[0] == group && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid)) return gid;
        }
        throw new ArgumentException($"no group '{group}' in /etc/group");
    }
}
