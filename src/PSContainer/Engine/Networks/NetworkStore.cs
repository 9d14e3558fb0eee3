using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Networks;

/// <summary>A network's row.</summary>
public sealed class NetworkRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Driver { get; set; } = "bridge";
    public string Subnet { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string? IPRange { get; set; }
    public bool Internal { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public string Bridge { get; set; } = "";
    public DateTime Created { get; set; }
    public int DnsPid { get; set; }
    public long DnsStart { get; set; }
    public bool IsDefault => Name == NetworkManager.DefaultNetwork;
    /// <summary>User-defined networks get name resolution (docker: not the default bridge).</summary>
    public bool DnsEnabled => !IsDefault;
    public Subnet ParsedSubnet => Networks.Subnet.Parse(Subnet);
    public uint GatewayAddress => Ipv4.Parse(Gateway, "gateway");
}

/// <summary>Networks, endpoints (IPAM leases) and published ports in the shared state database.</summary>
public sealed class NetworkStore
{
    private readonly StateDb db;

    public NetworkStore(StateDb db) => this.db = db;

    public StateDb Db => db;

    private const string NetworkColumns = "id, name, driver, subnet, gateway, ip_range, internal, labels, bridge, created, dns_pid, dns_start";

    private static NetworkRecord MapNetwork(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = r.GetString(1),
        Driver = r.GetString(2),
        Subnet = r.GetString(3),
        Gateway = r.GetString(4),
        IPRange = r.IsDBNull(5) ? null : r.GetString(5),
        Internal = r.GetInt32(6) != 0,
        Labels = JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(7)) ?? new(),
        Bridge = r.GetString(8),
        Created = DateTime.Parse(r.GetString(9), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
        DnsPid = r.GetInt32(10),
        DnsStart = r.GetInt64(11),
    };

    public IReadOnlyList<NetworkRecord> All() => db.Read(c => c.Query(null, $"SELECT {NetworkColumns} FROM networks ORDER BY created", MapNetwork));

    public NetworkRecord? ByName(string name) => db.Read(c => c.Query(null, $"SELECT {NetworkColumns} FROM networks WHERE name = $n", MapNetwork, ("$n", name))).FirstOrDefault();

    public NetworkRecord? ById(string id) => db.Read(c => c.Query(null, $"SELECT {NetworkColumns} FROM networks WHERE id = $id", MapNetwork, ("$id", id))).FirstOrDefault();

    /// <summary>Inserts a network unless its name or bridge is taken or its subnet overlaps another network's (all in one transaction).</summary>
    public void Insert(NetworkRecord n)
    {
        try
        {
            db.Write((c, tx) =>
            {
                var subnet = n.ParsedSubnet;
                foreach (var other in c.Query(tx, $"SELECT {NetworkColumns} FROM networks", MapNetwork))
                {
                    if (other.Name == n.Name) break;
                    if (other.ParsedSubnet.Overlaps(subnet))
                        throw new EngineException("SubnetOverlap", ErrorKind.InvalidArgument, n.Subnet,
                            $"Subnet {n.Subnet} overlaps network '{other.Name}' ({other.Subnet}).");
                }
                c.Execute(tx, $"INSERT INTO networks({NetworkColumns}) VALUES($id, $name, $driver, $subnet, $gw, $range, $internal, $labels, $bridge, $created, 0, 0)",
                    ("$id", n.Id), ("$name", n.Name), ("$driver", n.Driver), ("$subnet", n.Subnet), ("$gw", n.Gateway), ("$range", n.IPRange),
                    ("$internal", n.Internal ? 1 : 0), ("$labels", JsonSerializer.Serialize(n.Labels)), ("$bridge", n.Bridge), ("$created", n.Created.ToString("O")));
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new EngineException("NetworkExists", ErrorKind.ResourceExists, n.Name, $"A network named '{n.Name}' already exists.", e);
        }
    }

    public void Delete(string id) => db.Write((c, tx) =>
    {
        c.Execute(tx, "DELETE FROM network_endpoints WHERE network_id = $id", ("$id", id));
        c.Execute(tx, "DELETE FROM networks WHERE id = $id", ("$id", id));
    });

    public void SetDns(string id, int pid, long start) =>
        db.Write((c, tx) => c.Execute(tx, "UPDATE networks SET dns_pid = $p, dns_start = $s WHERE id = $id", ("$id", id), ("$p", pid), ("$s", start)));

    // ---- endpoints (IPAM) ------------------------------------------------------------------------------------------

    private const string EndpointColumns = "e.network_id, n.name, e.container_id, e.address, e.aliases, e.veth, e.ifname, e.position, e.active, COALESCE(c.name, '')";

    private static NetworkEndpoint MapEndpoint(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), JsonSerializer.Deserialize<string[]>(r.GetString(4)) ?? [],
        r.GetString(5), r.GetString(6), r.GetInt32(7), r.GetInt32(8) != 0, r.GetString(9));

    public IReadOnlyList<NetworkEndpoint> Endpoints() => db.Read(c => c.Query(null,
        $"SELECT {EndpointColumns} FROM network_endpoints e JOIN networks n ON n.id = e.network_id LEFT JOIN containers c ON c.id = e.container_id ORDER BY e.container_id, e.position", MapEndpoint));

    public IReadOnlyList<NetworkEndpoint> EndpointsOf(string containerId) => db.Read(c => c.Query(null,
        $"SELECT {EndpointColumns} FROM network_endpoints e JOIN networks n ON n.id = e.network_id LEFT JOIN containers c ON c.id = e.container_id WHERE e.container_id = $c ORDER BY e.position", MapEndpoint, ("$c", containerId)));

    public IReadOnlyList<NetworkEndpoint> EndpointsOn(string networkId) => db.Read(c => c.Query(null,
        $"SELECT {EndpointColumns} FROM network_endpoints e JOIN networks n ON n.id = e.network_id LEFT JOIN containers c ON c.id = e.container_id WHERE e.network_id = $n ORDER BY e.address", MapEndpoint, ("$n", networkId)));

    /// <summary>
    /// Leases an address on a network to a container: <paramref name="requested"/> if given (it must be in the subnet
    /// and free), else the lowest free one in the network's range. The IMMEDIATE transaction serializes sessions and
    /// UNIQUE(network_id, address) backs it up, so two sessions never get the same address.
    /// </summary>
    public NetworkEndpoint Allocate(NetworkRecord network, string containerId, string? requested, string[] aliases, string veth, IReadOnlySet<uint>? held = null,
        Action<SqliteConnection, SqliteTransaction>? alongside = null)
    {
        var subnet = network.ParsedSubnet;
        var range = network.IPRange is { } r ? Networks.Subnet.Parse(r) : subnet;
        uint gateway = network.GatewayAddress;
        try
        {
            return db.Write((c, tx) =>
            {
                if (c.Query(tx, "SELECT 1 FROM network_endpoints WHERE network_id = $n AND container_id = $c", x => 1, ("$n", network.Id), ("$c", containerId)).Count > 0)
                    throw new EngineException("AlreadyConnected", ErrorKind.ResourceExists, network.Name, $"The container is already connected to network '{network.Name}'.");
                var used = c.Query(tx, "SELECT address FROM network_endpoints WHERE network_id = $n", x => Ipv4.Parse(x.GetString(0), "lease"), ("$n", network.Id)).ToHashSet();
                uint address;
                if (requested is not null)
                {
                    address = Ipv4.Parse(requested, "-IPAddress");
                    if (!subnet.Contains(address) || address == subnet.Network || (subnet.PrefixLength < 31 && address == subnet.Broadcast))
                        throw new EngineException("AddressOutOfSubnet", ErrorKind.InvalidArgument, requested,
                            $"Address {requested} is not a usable address of network '{network.Name}' ({network.Subnet}).");
                    if (address == gateway || used.Contains(address))
                        throw new EngineException("AddressInUse", ErrorKind.ResourceExists, requested,
                            $"Address {requested} is already in use on network '{network.Name}'.");
                }
                else
                {
                    uint first = Math.Max(range.FirstHost, subnet.FirstHost), last = Math.Min(range.LastHost, subnet.LastHost);
                    address = 0;
                    for (ulong a = first; a <= last; a++)
                    {
                        if ((uint)a == gateway || used.Contains((uint)a) || (held?.Contains((uint)a) ?? false)) continue;
                        address = (uint)a;
                        break;
                    }
                    if (address == 0)
                        throw new EngineException("AddressPoolExhausted", ErrorKind.ResourceUnavailable, network.Name,
                            $"No free address left on network '{network.Name}' ({network.IPRange ?? network.Subnet}).");
                }
                int position = c.Query(tx, "SELECT COALESCE(MAX(position) + 1, 0) FROM network_endpoints WHERE container_id = $c", x => x.GetInt32(0), ("$c", containerId))[0];
                string ifname = "eth" + position.ToString(CultureInfo.InvariantCulture);
                c.Execute(tx, "INSERT INTO network_endpoints(network_id, container_id, address, aliases, veth, ifname, position, active) VALUES($n, $c, $a, $al, $v, $i, $p, 0)",
                    ("$n", network.Id), ("$c", containerId), ("$a", Ipv4.Format(address)), ("$al", JsonSerializer.Serialize(aliases)), ("$v", veth), ("$i", ifname), ("$p", position));
                alongside?.Invoke(c, tx);
                return new NetworkEndpoint(network.Id, network.Name, containerId, Ipv4.Format(address), aliases, veth, ifname, position, false, "");
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new EngineException("AddressInUse", ErrorKind.ResourceExists, requested ?? network.Name, $"The address is already in use on network '{network.Name}'.", e);
        }
    }

    public void Release(string networkId, string containerId) =>
        db.Write((c, tx) => c.Execute(tx, "DELETE FROM network_endpoints WHERE network_id = $n AND container_id = $c", ("$n", networkId), ("$c", containerId)));

    public void SetActive(string containerId, string? networkId, bool active) => db.Write((c, tx) => SetActive(c, tx, containerId, networkId, active));

    /// <summary><see cref="SetActive(string, string?, bool)"/> inside a caller's transaction.</summary>
    public static void SetActive(Microsoft.Data.Sqlite.SqliteConnection c, Microsoft.Data.Sqlite.SqliteTransaction tx, string containerId, string? networkId, bool active) =>
        c.Execute(tx, "UPDATE network_endpoints SET active = $a WHERE container_id = $c AND ($n IS NULL OR network_id = $n)",
            ("$a", active ? 1 : 0), ("$c", containerId), ("$n", networkId));

    // ---- published ports ---------------------------------------------------------------------------------------------

    public IReadOnlyList<PortMapping> PortsOf(string containerId) => db.Read(c => c.Query(null,
        "SELECT host_ip, host_port, container_port, protocol FROM port_mappings WHERE container_id = $c ORDER BY container_port, protocol",
        r => new PortMapping(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3)), ("$c", containerId)));

    /// <summary>The ports of containers whose endpoints are active, with where they go (the container's first network).</summary>
    public IReadOnlyList<(PortMapping Port, string ContainerAddress)> ActivePorts() => db.Read(c => c.Query(null, """
        SELECT p.host_ip, p.host_port, p.container_port, p.protocol, e.address
        FROM port_mappings p JOIN network_endpoints e ON e.container_id = p.container_id
        WHERE e.active = 1 AND e.position = (SELECT MIN(position) FROM network_endpoints x WHERE x.container_id = p.container_id)
        ORDER BY p.host_port, p.protocol
        """, r => (new PortMapping(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3)), r.GetString(4))));

    /// <summary>Records a container's published ports, all or none; a host port another container has is refused.</summary>
    public void InsertPorts(string containerId, IReadOnlyList<PortMapping> ports)
    {
        try
        {
            db.Write((c, tx) =>
            {
                foreach (var p in ports)
                    c.Execute(tx, "INSERT INTO port_mappings(container_id, host_ip, host_port, container_port, protocol) VALUES($c, $ip, $hp, $cp, $pr)",
                        ("$c", containerId), ("$ip", p.HostIp), ("$hp", p.HostPort), ("$cp", p.ContainerPort), ("$pr", p.Protocol));
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new EngineException("PortAllocated", ErrorKind.ResourceExists, string.Join(", ", ports),
                $"A host port in {string.Join(", ", ports.Select(p => $"{p.HostPort}/{p.Protocol}"))} is already published by another container.", e);
        }
    }

    public bool PortRecorded(int hostPort, string protocol) => db.Read(c => c.Query(null,
        "SELECT 1 FROM port_mappings WHERE host_port = $p AND protocol = $pr", r => 1, ("$p", hostPort), ("$pr", protocol)).Count > 0);

    public void DeletePorts(string containerId) => db.Write((c, tx) => c.Execute(tx, "DELETE FROM port_mappings WHERE container_id = $c", ("$c", containerId)));
}
