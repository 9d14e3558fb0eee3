namespace PSContainer.Engine.Networks;

/// <summary>A container network (docker network inspect): a Linux bridge, its subnet and the containers on it.</summary>
public sealed class ContainerNetwork
{
    public string Id { get; init; } = "";
    public string ShortId => Id.Length >= 12 ? Id[..12] : Id;
    public string Name { get; init; } = "";
    public string Driver { get; init; } = "bridge";
    public string Subnet { get; init; } = "";
    public string Gateway { get; init; } = "";
    public string? IPRange { get; init; }
    public bool Internal { get; init; }
    /// <summary>The host's bridge device (psc…).</summary>
    public string Bridge { get; init; } = "";
    /// <summary>Whether containers on it resolve each other by name (user-defined networks: psc-dns on the gateway).</summary>
    public bool DnsEnabled { get; init; }
    /// <summary>Names of the containers attached.</summary>
    public string[] Containers { get; init; } = [];
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public DateTime Created { get; init; }
    /// <summary>Whether the host forwards IPv4 (net.ipv4.ip_forward), which traffic out of a non-internal network needs.</summary>
    public bool IPForwarding { get; init; }

    public override string ToString() => Name;
}

/// <summary>One container's attachment to a network.</summary>
public sealed record NetworkEndpoint(string NetworkId, string NetworkName, string ContainerId, string Address, string[] Aliases, string Veth, string InterfaceName, int Position, bool Active, string ContainerName);
