using System.Globalization;

namespace PSContainer.Engine.Networks;

/// <summary>A published port: host address and port to the container's port, tcp or udp.</summary>
public sealed record PortMapping(string HostIp, int HostPort, int ContainerPort, string Protocol)
{
    /// <summary>docker ps's form: 0.0.0.0:8080->80/tcp.</summary>
    public override string ToString() => $"{HostIp}:{HostPort.ToString(CultureInfo.InvariantCulture)}->{ContainerPort.ToString(CultureInfo.InvariantCulture)}/{Protocol}";
}

/// <summary>A -Publish request before a host port is chosen (HostPort 0 = any free port).</summary>
public sealed record PortRequest(string HostIp, int HostPort, int ContainerPort, string Protocol)
{
    /// <summary>
    /// Parses docker's -p forms: containerPort, hostPort:containerPort, hostIp:hostPort:containerPort,
    /// hostIp::containerPort, each with an optional /tcp or /udp.
    /// </summary>
    public static PortRequest Parse(string spec)
    {
        EngineException Bad(string why) => new("InvalidPublish", ErrorKind.InvalidArgument, spec,
            $"Invalid -Publish '{spec}': {why}. Use [hostIp:][hostPort:]containerPort[/tcp|udp].");
        string s = spec.Trim();
        string protocol = "tcp";
        int slash = s.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = s[(slash + 1)..].ToLowerInvariant();
            s = s[..slash];
            if (protocol is not ("tcp" or "udp")) throw Bad($"unknown protocol '{protocol}'");
        }
        string[] parts = s.Split(':');
        string hostIp = "0.0.0.0", hostPort = "", containerPort;
        switch (parts.Length)
        {
            case 1: containerPort = parts[0]; break;
            case 2: hostPort = parts[0]; containerPort = parts[1]; break;
            case 3: hostIp = parts[0]; hostPort = parts[1]; containerPort = parts[2]; break;
            default: throw Bad("too many ':'");
        }
        if (hostIp.Length == 0) hostIp = "0.0.0.0";
        if (!Ipv4.TryParse(hostIp, out _)) throw Bad($"'{hostIp}' is not an IPv4 address");
        int Port(string text, bool allowEmpty)
        {
            if (text.Length == 0 && allowEmpty) return 0;
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
                throw Bad($"'{text}' is not a port number (1-65535)");
            return p;
        }
        return new PortRequest(hostIp, Port(hostPort, true), Port(containerPort, false), protocol);
    }
}
