
namespace PSContainer.Engine.Containers;

/// <summary>A network a container joins at create besides <see cref="ContainerOptions.Network"/>, with its own address and aliases.</summary>
public sealed class NetworkAttachment
{
    public string Network { get; set; } = "";
    /// <summary>A static IPv4 address on this network (docker's IPAMConfig.IPv4Address).</summary>
    public string? IPAddress { get; set; }
    /// <summary>Names the container answers to on this network only.</summary>
    public List<string> Aliases { get; set; } = new();

    /// <summary>
    /// A -Network value: a network's name or id, or docker run's advanced form name=NET[,alias=A]...[,ip=ADDR]
    /// (docker run --network name=b,alias=web,ip=10.89.3.5).
    /// </summary>
    public static NetworkAttachment Parse(string spec)
    {
        if (!spec.StartsWith("name=", StringComparison.Ordinal)) return new NetworkAttachment { Network = spec };
        var a = new NetworkAttachment();
        foreach (string part in spec.Split(','))
        {
            int eq = part.IndexOf('=');
            string key = eq > 0 ? part[..eq].Trim() : part.Trim(), value = eq > 0 ? part[(eq + 1)..].Trim() : "";
            switch (key)
            {
                case "name": a.Network = value; break;
                case "alias": if (value.Length > 0) a.Aliases.Add(value); break;
                case "ip":
                    if (!System.Net.IPAddress.TryParse(value, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                        throw new EngineException("InvalidNetworkSpec", ErrorKind.InvalidArgument, spec, $"Invalid -Network '{spec}': ip={value} is not an IPv4 address.");
                    a.IPAddress = value;
                    break;
                default:
                    throw new EngineException("InvalidNetworkSpec", ErrorKind.InvalidArgument, spec,
                        $"Invalid -Network '{spec}': '{key}' is not one of name, alias, ip.");
            }
        }
        if (a.Network.Length == 0)
            throw new EngineException("InvalidNetworkSpec", ErrorKind.InvalidArgument, spec, $"Invalid -Network '{spec}': no name=.");
        return a;
    }
}

public sealed partial class ContainerOptions
{
    /// <summary>
    /// Networks joined at create after <see cref="Network"/> (docker run --network a --network b, API 1.44's
    /// EndpointsConfig with several entries). Only read by the create: afterwards the container's endpoints are what
    /// docker network connect/disconnect made of them.
    /// </summary>
    public List<NetworkAttachment> MoreNetworks { get; set; } = new();

    /// <summary>
    /// Sets the networks from -Network values: the first is the container's network (its ip= and alias= join
    /// -IPAddress and -NetworkAlias, which apply to it as docker's --ip and --network-alias apply to the first
    /// --network), the rest are joined too.
    /// </summary>
    public void SetNetworks(IReadOnlyList<string> specs)
    {
        if (specs.Count == 0) return;
        var first = NetworkAttachment.Parse(specs[0]);
        Network = first.Network;
        if (first.IPAddress is not null)
        {
            if (IPAddress is not null && IPAddress != first.IPAddress)
                throw new EngineException("ConflictingNetworkOptions", ErrorKind.InvalidArgument, specs[0],
                    $"Conflicting options: -IPAddress {IPAddress} and ip={first.IPAddress} in -Network '{specs[0]}'.");
            IPAddress = first.IPAddress;
        }
        NetworkAliases.AddRange(first.Aliases.Where(a => !NetworkAliases.Contains(a)));
        MoreNetworks = specs.Skip(1).Select(NetworkAttachment.Parse).ToList();
    }
}
