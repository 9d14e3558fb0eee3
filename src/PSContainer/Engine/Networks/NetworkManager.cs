using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Storage;
using PSContainer.Native;
using PSContainer.Native.Netlink;

namespace PSContainer.Engine.Networks;

/// <summary>What New-ContainerNetwork takes.</summary>
public sealed class NetworkCreateOptions
{
    public string Name { get; set; } = "";
    public string? Subnet { get; set; }
    public string? Gateway { get; set; }
    public string? IPRange { get; set; }
    public bool Internal { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
}

/// <summary>
/// Container networks: Linux bridges with a subnet each, veth pairs into containers' network namespaces, address
/// leases (IPAM) in the state database, published ports and isolation in our nftables table, and an embedded DNS
/// server (psc-dns, one per state root for every user-defined network). Every host object carries our mark (the link alias, the table name)
/// so <see cref="Repair"/> can find what a killed session left behind.
/// </summary>
public sealed partial class NetworkManager
{
    public const string DefaultNetwork = "bridge";
    private readonly StatePaths paths;
    private readonly NetworkStore store;
    private readonly DnsResolver dns;
    private readonly HostObjectLedger ledger;

    public NetworkManager(StatePaths paths, StateDb db)
    {
        this.paths = paths;
        store = new NetworkStore(db);
        ledger = new HostObjectLedger(db);
        dns = new DnsResolver(paths, store);
        bool defaultRoot = paths.Root == StatePaths.DefaultRoot;
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(paths.Root)))[..8];
        TableName = defaultRoot ? "pscontainer" : "pscontainer_" + hash;
        DefaultBridge = defaultRoot ? "psc0" : "psc0" + hash[..6];
        OwnerTag = "pscontainer:" + paths.Root;
    }

    public NetworkStore Store => store;
    /// <summary>Our nftables table (inet family): pscontainer for the default state root, pscontainer_&lt;hash&gt; for others.</summary>
    public string TableName { get; }
    public string DefaultBridge { get; }
    /// <summary>The alias our bridges and veths carry: which state root they belong to.</summary>
    public string OwnerTag { get; }

    public static bool IsSpecialMode(string mode) => mode is "none" or "host" || mode.StartsWith("container:", StringComparison.Ordinal);

    private FileLock Lock()
    {
        Directory.CreateDirectory(paths.Root);
        return FileLock.Acquire(Path.Combine(paths.Root, "network.lock"), exclusive: true);
    }

    // ---- networks ---------------------------------------------------------------------------------------------

    public ContainerNetwork Create(NetworkCreateOptions o)
    {
        if (o.Name is DefaultNetwork or "none" or "host" || o.Name.StartsWith("container:", StringComparison.Ordinal))
            throw new EngineException("NetworkNameReserved", ErrorKind.InvalidArgument, o.Name, $"'{o.Name}' is a reserved network name.");
        if (!System.Text.RegularExpressions.Regex.IsMatch(o.Name, "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"))
            throw new EngineException("InvalidNetworkName", ErrorKind.InvalidArgument, o.Name, $"Invalid network name \"{o.Name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.");
        using (Lock())
        {
            if (store.ByName(o.Name) is not null)
                throw new EngineException("NetworkExists", ErrorKind.ResourceExists, o.Name, $"A network named '{o.Name}' already exists.");
            string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var record = Plan(o, id, "psc" + id[..8]);
            return Insert(record);
        }
    }

    /// <summary>Validates the options against the host's routes and our networks, and fills in subnet and gateway.</summary>
    private NetworkRecord Plan(NetworkCreateOptions o, string id, string bridge)
    {
        List<RouteInfo> routes;
        List<LinkInfo> links;
        using (var s = NetlinkSocket.Open())
        {
            routes = RouteNetlink.GetRoutes(s);
            links = RouteNetlink.GetLinks(s);
        }
        if (links.FirstOrDefault(l => l.Name == bridge) is { } existing)
        {
            if (existing.Alias != OwnerTag)
                throw new EngineException("BridgeExists", ErrorKind.ResourceExists, bridge,
                    $"A network device named {bridge} already exists on the host and is not this state root's (it lacks the alias '{OwnerTag}'). " +
                    $"If it is a leftover, remove it (ip link delete {bridge}); otherwise use another state root ($env:PSCONTAINER_ROOT).");
            // Ours (it carries this root's alias) but no network record names it: the state root was deleted while
            // the bridge existed. Take it down, with its routes, and make the network anew.
            using var s = NetlinkSocket.Open();
            RouteNetlink.DeleteByName(s, bridge);
            routes = RouteNetlink.GetRoutes(s);
        }
        var taken = store.All().Select(n => n.ParsedSubnet).ToList();
        // Routes of the main table, except the default route: where the host already sends traffic.
        var hostRoutes = routes.Where(r => r.Table == Rt.RT_TABLE_MAIN && r.PrefixLength > 0 && r.Type == Rt.RTN_UNICAST)
            .Select(r => new Subnet(r.Destination, r.PrefixLength)).ToList();
        Subnet subnet;
        if (o.Subnet is { } text)
        {
            subnet = Subnet.Parse(text);
            if (store.All().FirstOrDefault(n => n.ParsedSubnet.Overlaps(subnet)) is { } other)
                throw new EngineException("SubnetOverlap", ErrorKind.InvalidArgument, text, $"Subnet {subnet} overlaps network '{other.Name}' ({other.Subnet}).");
            if (hostRoutes.FirstOrDefault(r => r.Overlaps(subnet)) is { PrefixLength: > 0 } route)
                throw new EngineException("SubnetOverlap", ErrorKind.InvalidArgument, text, $"Subnet {subnet} overlaps the host's route to {route}.");
        }
        else
        {
            if (o.Gateway is not null || o.IPRange is not null)
                throw new EngineException("SubnetRequired", ErrorKind.InvalidArgument, o.Name, "-Gateway and -IPRange need -Subnet.");
            subnet = FreeSubnet(id == "default", taken.Concat(hostRoutes).Concat(ForeignSubnets.Read()).ToList());
        }
        uint gateway;
        if (o.Gateway is { } g)
        {
            gateway = Ipv4.Parse(g, "-Gateway");
            if (!subnet.Contains(gateway) || gateway == subnet.Network || gateway == subnet.Broadcast)
                throw new EngineException("GatewayOutOfSubnet", ErrorKind.InvalidArgument, g, $"Gateway {g} is not a usable address of subnet {subnet}.");
        }
        else
        {
            gateway = subnet.FirstHost;
        }
        if (o.IPRange is { } rangeText)
        {
            var range = Subnet.TryParse(rangeText, out var r, out string? err) ? r : throw new EngineException("InvalidIPRange", ErrorKind.InvalidArgument, rangeText, err!);
            if (!subnet.Contains(range))
                throw new EngineException("IPRangeOutOfSubnet", ErrorKind.InvalidArgument, rangeText, $"IP range {range} is not inside subnet {subnet}.");
        }
        return new NetworkRecord
        {
            Id = id == "default" ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) : id,
            Name = o.Name,
            Subnet = subnet.ToString(),
            Gateway = Ipv4.Format(gateway),
            IPRange = o.IPRange,
            Internal = o.Internal,
            Labels = o.Labels,
            Bridge = bridge,
            Created = DateTime.UtcNow,
        };
    }

    /// <summary>A subnet that overlaps nothing taken: the first free 10.X.0.0/16 from 10.88 for the default network (podman's
    /// own when podman does not claim it), 10.89.N.0/24 and on for others.</summary>
    private static Subnet FreeSubnet(bool forDefault, List<Subnet> taken)
    {
        IEnumerable<Subnet> candidates = forDefault
            ? Enumerable.Range(88, 168).Select(b => new Subnet((10u << 24) | ((uint)b << 16), 16))
            : Enumerable.Range(0, 256).Select(c => new Subnet((10u << 24) | (89u << 16) | ((uint)c << 8), 24))
                .Concat(Enumerable.Range(90, 166).SelectMany(b => Enumerable.Range(0, 256).Select(c => new Subnet((10u << 24) | ((uint)b << 16) | ((uint)c << 8), 24))));
        foreach (var candidate in candidates)
            if (!taken.Any(t => t.Overlaps(candidate))) return candidate;
        throw new EngineException("NoFreeSubnet", ErrorKind.ResourceUnavailable, null, "No free subnet is left in 10.0.0.0/8: give -Subnet.");
    }

    private ContainerNetwork Insert(NetworkRecord record)
    {
        store.Insert(record);
        try
        {
            EnsureBridge(record);
            ApplyFirewall();
        }
        catch
        {
            DeleteBridge(record.Bridge);
            store.Delete(record.Id);
            try { ApplyFirewall(); } catch (EngineException) { }
            throw;
        }
        return ToNetwork(record);
    }

    /// <summary>The default network `bridge`, made on first use.</summary>
    public NetworkRecord EnsureDefault()
    {
        if (store.ByName(DefaultNetwork) is { } existing) return existing;
        using (Lock())
        {
            if (store.ByName(DefaultNetwork) is { } again) return again;
            var record = Plan(new NetworkCreateOptions { Name = DefaultNetwork }, "default", DefaultBridge);
            Insert(record);
            return store.ByName(DefaultNetwork)!;
        }
    }

    public NetworkRecord Resolve(string nameOrId)
    {
        if (nameOrId == DefaultNetwork) return EnsureDefault();
        var all = store.All();
        var hit = all.FirstOrDefault(n => n.Name == nameOrId) ?? all.FirstOrDefault(n => n.Id == nameOrId);
        if (hit is not null) return hit;
        var prefix = all.Where(n => n.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList();
        if (prefix.Count == 1) return prefix[0];
        throw new EngineException("NetworkNotFound", ErrorKind.ObjectNotFound, nameOrId, $"Network '{nameOrId}' not found.");
    }

    public IReadOnlyList<ContainerNetwork> List() => store.All().Select(ToNetwork).ToList();

    public ContainerNetwork Get(string nameOrId) => ToNetwork(Resolve(nameOrId));

    public ContainerNetwork ToNetwork(NetworkRecord r) => new()
    {
        Id = r.Id,
        Name = r.Name,
        Driver = r.Driver,
        Subnet = r.Subnet,
        Gateway = r.Gateway,
        IPRange = r.IPRange,
        Internal = r.Internal,
        Bridge = r.Bridge,
        DnsEnabled = r.DnsEnabled,
        Containers = store.EndpointsOn(r.Id).Select(e => e.ContainerName).Where(n => n.Length > 0).Order(StringComparer.Ordinal).ToArray(),
        Labels = new Dictionary<string, string>(r.Labels),
        Created = r.Created,
        IPForwarding = IPForwarding,
    };

    public static bool IPForwarding
    {
        get
        {
            return Sysctl.Read("net/ipv4/ip_forward") == "1";
        }
    }

    /// <summary>The networks every state root has without New-ContainerNetwork: bridge (made on first use), host and none.</summary>
    public static bool IsPredefined(string name) => name is DefaultNetwork or "host" or "none";

    /// <summary>
    /// Removes a network: its DNS server, bridge and rules. With containers attached it refuses unless
    /// <paramref name="force"/>, which disconnects them first (running ones lose the interface).
    /// The predefined networks cannot be removed, as in docker ("bridge is a pre-defined network and cannot be
    /// removed"), so that removing every listed network does not take the default one away. There is no daemon to
    /// own the default bridge's host objects, though: <paramref name="force"/> on bridge is the explicit way to take
    /// them down (its bridge device, rules and leases), and only while no container, running or not, is attached:
    /// a container made on bridge keeps bridge as its network mode, and losing its endpoint would leave it with
    /// loopback only on its next start, silently. The network stays predefined and is made again when a container
    /// next uses it.
    /// </summary>
    public void Remove(string nameOrId, bool force)
    {
        // Checked by name before Resolve, which would make the default network on first use only to refuse it.
        if (IsPredefined(nameOrId) && (nameOrId != DefaultNetwork || !force)) throw PredefinedNetwork(nameOrId);
        if (nameOrId == DefaultNetwork && store.ByName(DefaultNetwork) is null) return;
        var n = Resolve(nameOrId);
        if (n.Name == DefaultNetwork && !force) throw PredefinedNetwork(n.Name);
        using (Lock())
        {
            var endpoints = store.EndpointsOn(n.Id);
            if (endpoints.Count > 0 && n.Name == DefaultNetwork)
                throw new EngineException("NetworkInUse", ErrorKind.InvalidOperation, n.Name,
                    $"The default network '{n.Name}' has containers attached ({string.Join(", ", endpoints.Select(e => e.ContainerName))}): its host bridge and rules can be taken down only once no container uses it; remove those containers first.");
            if (endpoints.Count > 0 && !force)
                throw new EngineException("NetworkInUse", ErrorKind.InvalidOperation, n.Name,
                    $"Network '{n.Name}' has containers attached ({string.Join(", ", endpoints.Select(e => e.ContainerName))}): disconnect or remove them first, or use -Force.");
            using (var s = NetlinkSocket.Open())
                foreach (var e in endpoints) RouteNetlink.DeleteByName(s, e.Veth);
            dns.Remove(n);
            store.Delete(n.Id);
            DeleteBridge(n.Bridge);
            ApplyFirewall();
        }
    }

    private static EngineException PredefinedNetwork(string name) =>
        new("PredefinedNetwork", ErrorKind.InvalidOperation, name, name == DefaultNetwork
            ? $"{name} is a pre-defined network and cannot be removed. -Force takes down its host bridge and rules instead (it is made again when a container next uses it)."
            : $"{name} is a pre-defined network and cannot be removed.");

    // ---- host objects -----------------------------------------------------------------------------------------

    private void EnsureBridge(NetworkRecord n)
    {
        using var s = NetlinkSocket.Open();
        EnsureBridge(n, s);
    }

    /// <summary>Makes the network's bridge if it is missing (or finishes one half made) and returns its index.</summary>
    private int EnsureBridge(NetworkRecord n, NetlinkSocket s)
    {
        var link = RouteNetlink.GetLink(s, n.Bridge);
        if (link is null)
        {
            RouteNetlink.CreateBridge(s, n.Bridge);
            link = RouteNetlink.GetLink(s, n.Bridge) ?? throw new EngineException("BridgeMissing", ErrorKind.InvalidOperation, n.Bridge, $"Bridge {n.Bridge} vanished after it was made.");
            RouteNetlink.SetAlias(s, link.Index, OwnerTag);
        }
        else if (link.Alias != OwnerTag)
        {
            throw new EngineException("BridgeExists", ErrorKind.ResourceExists, n.Bridge, $"Network device {n.Bridge} exists but is not this state root's bridge.");
        }
        var subnet = n.ParsedSubnet;
        uint gw = n.GatewayAddress;
        if (!RouteNetlink.GetAddresses(s).Any(a => a.Index == link.Index && a.Address == gw))
            RouteNetlink.AddAddress(s, link.Index, gw, subnet.PrefixLength);
        // Published ports reached through 127.0.0.1 are routed out of the bridge with a loopback source.
        WriteSysctl($"net/ipv4/conf/{n.Bridge}/route_localnet", "1");
        if (!n.Internal && !IPForwarding) WriteSysctl("net/ipv4/ip_forward", "1");
        if (!link.IsUp) RouteNetlink.SetUp(s, link.Index);
        return link.Index;
    }

    private static void WriteSysctl(string key, string value)
    {
        try
        {
            Sysctl.Write(key, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string path = Sysctl.PathOf(key);
            throw new EngineException("SysctlFailed", ErrorKind.PermissionDenied, path, $"Cannot set {path} to {value}: {e.Message}", e);
        }
    }

    private static void DeleteBridge(string bridge)
    {
        using var s = NetlinkSocket.Open();
        RouteNetlink.DeleteByName(s, bridge);
    }

    /// <summary>Rewrites our nftables table (or iptables chains, <see cref="Firewall.Backend"/>) from the database (and keeps another engine's FORWARD DROP policy off our bridges).</summary>
    public void ApplyFirewall()
    {
        var networks = store.All();
        var fw = networks.Select(n => new FirewallNetwork(n.Bridge, n.Subnet, n.Internal)).ToList();
        var ports = store.ActivePorts().Select(p => new FirewallPort(p.Port.HostIp, p.Port.HostPort, p.Port.Protocol, p.ContainerAddress, p.Port.ContainerPort)).ToList();
        var backend = Firewall.Backend;
        if (fw.Count == 0)
        {
            // The last network went: our rules go from both backends (the other one's may be left from a switch).
            foreach (var b in new[] { backend, Firewall.OtherBackend(backend) })
                if (b is not null && b.Exists(TableName)) b.Apply(TableName, fw, ports);
            ForwardCleanup();
            return;
        }
        backend.Apply(TableName, fw, ports);
        Firewall.EnsureForwardAccept();
    }

    /// <summary>The FORWARD accept rules are shared by every state root: they go when no psc bridge is left on the host.</summary>
    private static void ForwardCleanup()
    {
        using var s = NetlinkSocket.Open();
        if (!RouteNetlink.GetLinks(s).Any(l => l.Kind == "bridge" && l.Name.StartsWith("psc", StringComparison.Ordinal)))
            Firewall.RemoveForwardAccept();
    }

    // ---- containers -------------------------------------------------------------------------------------------

    /// <summary>Checks a new container's network options before anything is made.</summary>
    public void Validate(ContainerOptions o)
    {
        foreach (string p in o.Publish) PortRequest.Parse(p);
        foreach (string h in o.AddHosts) ParseAddHost(h);
        foreach (string d in o.DnsServers)
            if (!IPAddress.TryParse(d, out _)) throw new EngineException("InvalidDnsServer", ErrorKind.InvalidArgument, d, $"'{d}' is not an IP address (-DnsServer).");
        if (IsSpecialMode(o.Network))
        {
            if (o.Publish.Count > 0 || o.PublishAll)
                throw new EngineException("PublishNeedsNetwork", ErrorKind.InvalidArgument, o.Network, $"Ports cannot be published with -Network {o.Network}.");
            if (o.IPAddress is not null || o.NetworkAliases.Count > 0)
                throw new EngineException("AddressNeedsNetwork", ErrorKind.InvalidArgument, o.Network, $"-IPAddress and -NetworkAlias need a bridge network, not -Network {o.Network}.");
            return;
        }
        if (o.Network != DefaultNetwork) Resolve(o.Network);
    }

    public static (string Name, string Address) ParseAddHost(string spec)
    {
        int colon = spec.IndexOf(':');
        string name = colon > 0 ? spec[..colon] : "", address = colon > 0 ? spec[(colon + 1)..] : "";
        if (name.Length == 0 || !IPAddress.TryParse(address, out _))
            throw new EngineException("InvalidAddHost", ErrorKind.InvalidArgument, spec, $"Invalid -AddHost '{spec}': use name:ip.");
        return (name, address);
    }

    public static string VethName(string containerId, string networkId) =>
        "pscv" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(containerId + "/" + networkId)))[..11];

    /// <summary>
    /// A new container's network attachments: its lease on its network and its published ports. All or nothing:
    /// on failure, whatever was recorded is released again.
    /// </summary>
    public void Attach(string containerId, ContainerOptions o, string[] exposedPorts)
    {
        if (IsSpecialMode(o.Network)) return;
        try
        {
            var network = Resolve(o.Network);
            var (held, gone) = AddressesOfPendingTeardowns(network, o.IPAddress);
            store.Allocate(network, containerId, o.IPAddress, o.NetworkAliases.ToArray(), VethName(containerId, network.Id), held, (c, tx) => HostObjectLedger.ForgetIn(c, tx, gone));
            var requests = o.Publish.Select(PortRequest.Parse).ToList();
            if (o.PublishAll)
                foreach (string e in exposedPorts)
                {
                    var r = PortRequest.Parse(e);
                    if (!requests.Any(x => x.ContainerPort == r.ContainerPort && x.Protocol == r.Protocol)) requests.Add(r);
                }
            if (requests.Count > 0) store.InsertPorts(containerId, ChoosePorts(requests));
        }
        catch
        {
            Forget(containerId);
            throw;
        }
    }

    /// <summary>Host ports for the requests: the asked-for ones if free, else a free ephemeral port.</summary>
    private List<PortMapping> ChoosePorts(List<PortRequest> requests)
    {
        var result = new List<PortMapping>();
        foreach (var r in requests)
        {
            int port = r.HostPort;
            if (port == 0)
            {
                for (int attempt = 0; ; attempt++)
                {
                    port = EphemeralPort(r.Protocol);
                    if (!store.PortRecorded(port, r.Protocol) && !result.Any(x => x.HostPort == port && x.Protocol == r.Protocol)) break;
                    if (attempt > 50) throw new EngineException("NoFreePort", ErrorKind.ResourceUnavailable, r.Protocol, "No free host port was found.");
                }
            }
            else
            {
                if (store.PortRecorded(port, r.Protocol) || result.Any(x => x.HostPort == port && x.Protocol == r.Protocol))
                    throw new EngineException("PortAllocated", ErrorKind.ResourceExists, $"{port}/{r.Protocol}",
                        $"Host port {port}/{r.Protocol} is already published by another container.");
                if (!PortFree(r.HostIp, port, r.Protocol))
                    throw new EngineException("PortInUse", ErrorKind.ResourceExists, $"{port}/{r.Protocol}",
                        $"Host port {port}/{r.Protocol} is already in use on {r.HostIp}.");
            }
            result.Add(new PortMapping(r.HostIp, port, r.ContainerPort, r.Protocol));
        }
        return result;
    }

    private static Socket NewSocket(string protocol) => protocol == "udp"
        ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
        : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>Whether a host process could bind the port (checked by binding it for a moment).</summary>
    public static bool PortFree(string hostIp, int port, string protocol)
    {
        using var s = NewSocket(protocol);
        try
        {
            s.Bind(new IPEndPoint(IPAddress.Parse(hostIp), port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralPort(string protocol)
    {
        using var s = NewSocket(protocol);
        s.Bind(new IPEndPoint(IPAddress.Any, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Releases a container's leases and ports (when it is removed).</summary>
    public void Forget(string containerId)
    {
        foreach (var e in store.EndpointsOf(containerId)) store.Release(e.NetworkId, containerId);
        store.DeletePorts(containerId);
    }

    public IReadOnlyList<NetworkEndpoint> EndpointsOf(string containerId) => store.EndpointsOf(containerId);
    public IReadOnlyList<PortMapping> PortsOf(string containerId) => store.PortsOf(containerId);

    /// <summary>
    /// Wires a starting container into its networks: for each endpoint a veth pair (host end in the bridge, peer
    /// made directly in the container's namespace as ethN), its address, the default route, then the firewall and
    /// the networks' DNS. The endpoints were marked active with the ledger entries, before anything was made
    /// (ContainerManager.RecordNetworkObjects): a failed start deactivates them in its clean-up, Repair those of a
    /// killed one.
    /// </summary>
    public void SetUp(string containerId, string netnsPath, IReadOnlyList<NetworkEndpoint> endpoints)
    {
        if (endpoints.Count == 0) return;
        using (Lock())
        {
            bool routed = false;
            foreach (var e in endpoints)
            {
                var n = store.ById(e.NetworkId)!;
                SetUpEndpoint(n, e, netnsPath, defaultRoute: !routed && !n.Internal);
                routed |= !n.Internal;
            }
            PhaseClock.Mark("network-veths-made");
            // The networks' own rules were written when they were made: only published ports change the table.
            // The FORWARD check stays, since another engine may have turned that policy to DROP since.
            if (store.PortsOf(containerId).Count > 0) ApplyFirewall();
            else Firewall.EnsureForwardAccept();
            PhaseClock.Mark("network-firewall");
            foreach (var e in endpoints) RefreshDns(store.ById(e.NetworkId)!);
        }
    }

    /// <summary>
    /// One endpoint: the veth pair made bridged and up with its peer already in the container's namespace, alias and
    /// hairpin set in the same round trip (a veth left by this container's last run, whose namespace the kernel has
    /// not destroyed yet, is deleted first); then the peer's address and the default route in one more.
    /// </summary>
    private void SetUpEndpoint(NetworkRecord n, NetworkEndpoint e, string netnsPath, bool defaultRoute)
    {
        using (var host = NetlinkSocket.Open())
        {
            int bridge = EnsureBridge(n, host);
            RouteNetlink.DeleteByName(host, e.Veth);
            RouteNetlink.CreateBridgedVeth(host, e.Veth, e.InterfaceName, netnsPath, bridge, OwnerTag);
        }
        using var ns = NetlinkSocket.OpenIn(netnsPath);
        var inner = RouteNetlink.GetLink(ns, e.InterfaceName)
                    ?? throw new EngineException("InterfaceMissing", ErrorKind.InvalidOperation, e.InterfaceName, $"{e.InterfaceName} did not appear in the container's namespace.");
        var steps = new List<(NetlinkMessageBuilder, string)>
        {
            (RouteNetlink.UpMessage(inner.Index), $"set {e.InterfaceName} up"),
            (RouteNetlink.AddressMessage(inner.Index, Ipv4.Parse(e.Address, "lease"), n.ParsedSubnet.PrefixLength), $"add address {e.Address} to {e.InterfaceName}"),
        };
        if (defaultRoute) steps.Add((RouteNetlink.DefaultRouteMessage(n.GatewayAddress), "add default route"));
        ns.RequestAll(steps);
    }

    /// <summary>Connects a container to another network; a running one (<paramref name="netnsPath"/>) gets the interface at once.</summary>
    public NetworkEndpoint Connect(string containerId, string network, string? address, string[] aliases, string? netnsPath)
    {
        var n = Resolve(network);
        var (held, gone) = AddressesOfPendingTeardowns(n, address);
        var e = store.Allocate(n, containerId, address, aliases, VethName(containerId, n.Id), held, (c, tx) => HostObjectLedger.ForgetIn(c, tx, gone));
        if (netnsPath is null) return e;
        CrashPoint.At("connect-after-record");
        try
        {
            RecordEndpoint(e);
            using (Lock())
            {
                bool hasRoute = store.EndpointsOf(containerId).Any(x => x.Active && !(store.ById(x.NetworkId)?.Internal ?? true));
                SetUpEndpoint(n, e, netnsPath, defaultRoute: !hasRoute && !n.Internal);
                CrashPoint.At("connect-after-veth");
                store.SetActive(containerId, n.Id, true);
                CrashPoint.At("connect-after-active");
                ApplyFirewall();
                RefreshDns(n);
            }
        }
        catch
        {
            using (var s = NetlinkSocket.Open()) RouteNetlink.DeleteByName(s, e.Veth);
            store.Release(n.Id, containerId);
            ForgetEndpoint(e);
            throw;
        }
        return e;
    }

    public void Disconnect(string containerId, string network)
    {
        var n = Resolve(network);
        var e = store.EndpointsOf(containerId).FirstOrDefault(x => x.NetworkId == n.Id)
                ?? throw new EngineException("NotConnected", ErrorKind.InvalidOperation, network, $"The container is not connected to network '{n.Name}'.");
        using (Lock())
        {
            using (var s = NetlinkSocket.Open()) RouteNetlink.DeleteByName(s, e.Veth);
            CrashPoint.At("disconnect-after-veth");
            store.Release(n.Id, containerId);
            ForgetEndpoint(e);
            ApplyFirewall();
            RefreshDns(n);
        }
    }

    /// <summary>
    /// A connect or disconnect of a running container whose session was killed half-way (see
    /// ContainerManager.SettleInterruptedNetworkChange): a connect whose endpoint was already active is finished,
    /// anything else ends disconnected — veth gone, lease released, rules and names without it.
    /// </summary>
    public void SettleInterruptedChange(string containerId, string networkId, bool connecting)
    {
        using (Lock())
        {
            var e = store.EndpointsOf(containerId).FirstOrDefault(x => x.NetworkId == networkId);
            var n = store.ById(networkId);
            if (!(connecting && e is { Active: true }))
            {
                using (var s = NetlinkSocket.Open()) RouteNetlink.DeleteByName(s, VethName(containerId, networkId));
                if (e is not null)
                {
                    store.Release(networkId, containerId);
                    ForgetEndpoint(e);
                }
            }
            ApplyFirewall();
            if (n is not null) RefreshDns(n);
        }
    }

    // ---- files in the container --------------------------------------------------------------------------------

    private static readonly string LocalhostEntries =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

    /// <summary>/etc/hosts: localhost, the container's own addresses with its hostname, name and aliases, then -AddHost entries.</summary>
    public string HostsFile(string containerId, string name, string hostname, ContainerOptions o)
    {
        var s = new StringBuilder(LocalhostEntries);
        foreach (var e in store.EndpointsOf(containerId))
        {
            var names = new List<string> { hostname };
            if (name != hostname) names.Add(name);
            names.AddRange(e.Aliases.Where(a => !names.Contains(a)));
            s.Append(e.Address).Append('\t').Append(string.Join(' ', names)).Append('\n');
        }
        foreach (string h in o.AddHosts)
        {
            var (host, address) = ParseAddHost(h);
            s.Append(address).Append('\t').Append(host).Append('\n');
        }
        return s.ToString();
    }

    /// <summary>
    /// /etc/resolv.conf: -DnsServer if given; on a user-defined network the network's DNS server (the gateway),
    /// which forwards what it does not know to the host's resolvers; else the host's resolv.conf (docker's default bridge).
    /// </summary>
    public string ResolvConf(string containerId, ContainerOptions o)
    {
        string host = File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "";
        var keep = host.Split('\n').Where(l => l.StartsWith("search ", StringComparison.Ordinal) || l.StartsWith("options ", StringComparison.Ordinal)).ToList();
        if (o.DnsServers.Count > 0)
            return string.Concat(o.DnsServers.Select(d => $"nameserver {d}\n")) + string.Concat(keep.Select(l => l + "\n"));
        var dnsNet = store.EndpointsOf(containerId).Select(e => store.ById(e.NetworkId)).FirstOrDefault(n => n is { DnsEnabled: true });
        if (dnsNet is not null && DnsBinary is not null)
            return $"nameserver {dnsNet.Gateway}\n" + string.Concat(keep.Select(l => l + "\n"));
        return host;
    }

    // ---- DNS (psc-dns, one per state root: DnsResolver) ----------------------------------------------------------

    public static string? DnsBinary => DnsResolver.Binary;

    /// <summary>The network's name records (a hosts file psc-dns reloads when it changes): every running container's address, name, aliases and short id.</summary>
    public static string Records(IEnumerable<NetworkEndpoint> endpoints)
    {
        var s = new StringBuilder();
        foreach (var e in endpoints.Where(e => e.Active && e.ContainerName.Length > 0))
        {
            var names = new List<string> { e.ContainerName };
            names.AddRange(e.Aliases.Where(a => !names.Contains(a)));
            names.Add(e.ContainerId[..12]);
            s.Append(e.Address).Append('\t').Append(string.Join(' ', names)).Append('\n');
        }
        return s.ToString();
    }

    /// <summary>Rewrites the name records of every network the container is active on (after a rename).</summary>
    public void RefreshNames(string containerId)
    {
        foreach (var e in store.EndpointsOf(containerId).Where(e => e.Active))
            if (store.ById(e.NetworkId) is { } n) RefreshDns(n);
    }

    /// <summary>Writes the network's records and has the resolver serve it while a container on it runs; stops it otherwise.</summary>
    private void RefreshDns(NetworkRecord n) => dns.Refresh(n);

    // ---- crash recovery -------------------------------------------------------------------------------------------

    /// <summary>
    /// Removes what a killed session left: our veths whose container is not running, bridges of networks no longer
    /// recorded, leases marked active for stopped containers, DNS servers of idle networks; then rewrites the
    /// firewall table. <paramref name="inUse"/> says whether a container is running or being started right now.
    /// Returns what it removed.
    /// </summary>
    public List<string> Repair(Func<string, bool> inUse, bool rewriteFirewall)
    {
        var removed = new List<string>();
        using (Lock())
        {
            var networks = store.All();
            var endpoints = store.Endpoints();
            var byVeth = endpoints.ToDictionary(e => e.Veth);
            using (var s = NetlinkSocket.Open())
            {
                foreach (var link in RouteNetlink.GetLinks(s).Where(l => l.Alias == OwnerTag))
                {
                    bool orphan = link.Kind switch
                    {
                        "veth" => !byVeth.TryGetValue(link.Name, out var e) || !inUse(e.ContainerId),
                        "bridge" => !networks.Any(n => n.Bridge == link.Name),
                        _ => false,
                    };
                    if (!orphan) continue;
                    RouteNetlink.DeleteByName(s, link.Name);
                    removed.Add($"{link.Kind} {link.Name}");
                }
            }
            foreach (var group in endpoints.Where(e => e.Active).GroupBy(e => e.ContainerId))
            {
                if (inUse(group.Key)) continue;
                store.SetActive(group.Key, null, false);
                removed.Add($"lease activity {group.Key[..12]}");
            }
            removed.AddRange(dns.Repair());
            if (rewriteFirewall || removed.Count > 0) ApplyFirewall();
        }
        return removed;
    }
}
