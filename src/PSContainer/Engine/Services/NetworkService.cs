using System.Security.Cryptography;
using System.Text;
using PSContainer.Engine.Networks;

namespace PSContainer.Engine.Services;

/// <summary>A network with the containers attached to it (docker network inspect's parts).</summary>
/// <param name="Predefined">bridge, host or none: there without a create, never removed.</param>
/// <param name="Endpoints">Every attachment, stopped containers' included (those keep the network in use).</param>
public sealed record NetworkDetails(ContainerNetwork Network, bool Predefined, IReadOnlyList<NetworkEndpoint> Endpoints);

/// <summary>What docker network create asks for beyond <see cref="NetworkCreateOptions"/>.</summary>
public sealed class NetworkCreateRequest
{
    public required NetworkCreateOptions Options { get; init; }
    /// <summary>bridge (or empty: the default); others are refused.</summary>
    public string? Driver { get; init; }
    public bool EnableIPv6 { get; init; }
    /// <summary>The driver's options (com.docker.network.bridge.name …): none is honoured, so any is refused.</summary>
    public IReadOnlyDictionary<string, string> DriverOptions { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Networks for the front ends: listing with docker's filters, the predefined networks (bridge before its first
/// use, host, none), create with docker's refusals, connect/disconnect of containers by name or id, remove, prune.
/// Over <see cref="NetworkManager"/> and the container manager's connect: no network logic of its own.
/// </summary>
public sealed class NetworkService
{
    private readonly ContainerEngine engine;
    private readonly ContainerService containers;
    private readonly ObjectEvents events;

    public NetworkService(ContainerEngine engine, ContainerService containers)
    {
        this.engine = engine;
        this.containers = containers;
        events = new ObjectEvents(engine);
    }

    private NetworkManager Manager => engine.Containers.Networks;

    /// <summary>Every network: the predefined three first (bridge as recorded, or as it will be made), then the others.</summary>
    public IReadOnlyList<NetworkDetails> List()
    {
        var recorded = Manager.Store.All();
        var endpoints = Manager.Store.Endpoints().ToLookup(e => e.NetworkId);
        var result = new List<NetworkDetails>();
        var bridge = recorded.FirstOrDefault(r => r.Name == NetworkManager.DefaultNetwork);
        result.Add(bridge is null ? Synthetic(NetworkManager.DefaultNetwork, "bridge") : new NetworkDetails(Manager.ToNetwork(bridge), true, endpoints[bridge.Id].ToList()));
        result.Add(Synthetic("host", "host"));
        result.Add(Synthetic("none", "null"));
        result.AddRange(recorded.Where(r => r.Name != NetworkManager.DefaultNetwork).Select(r => new NetworkDetails(Manager.ToNetwork(r), false, endpoints[r.Id].ToList())));
        return result;
    }

    /// <summary>The networks made so far (the default bridge once a container used it), as Get-ContainerNetwork shows them.</summary>
    public IReadOnlyList<ContainerNetwork> ListRecorded() => Manager.List();

    /// <summary>docker network ls --filter: name, id, label, driver, type (builtin/custom), scope, dangling.</summary>
    public IReadOnlyList<NetworkDetails> List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        ObjectFilters.Check(filters, "name", "id", "label", "label!", "driver", "type", "scope", "dangling");
        bool? dangling = ObjectFilters.Dangling(filters);
        return List().Where(d =>
            ObjectFilters.NameMatches(filters, d.Network.Name)
            && Any(filters, "id", v => d.Network.Id.StartsWith(v, StringComparison.Ordinal))
            && ObjectFilters.LabelsMatch(filters, d.Network.Labels)
            && Any(filters, "driver", v => v == d.Network.Driver)
            && Any(filters, "type", v => v == (d.Predefined ? "builtin" : "custom"))
            && Any(filters, "scope", v => v == "local")
            && (dangling is null || dangling == (!d.Predefined && d.Endpoints.Count == 0))).ToList();
    }

    private static bool Any(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, string key, Func<string, bool> match) =>
        ObjectFilters.Values(filters, key) is var v && (v.Count == 0 || v.Any(match));

    /// <summary>By name, full id or unique id prefix (dockerd's order); NetworkNotFound otherwise. Never makes the default network.</summary>
    public NetworkDetails Get(string nameOrId)
    {
        var all = List();
        var hit = all.FirstOrDefault(d => d.Network.Name == nameOrId) ?? all.FirstOrDefault(d => d.Network.Id == nameOrId);
        if (hit is not null) return hit;
        var prefix = nameOrId.Length > 0 ? all.Where(d => d.Network.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList() : [];
        if (prefix.Count == 1) return prefix[0];
        if (prefix.Count > 1)
            throw new EngineException("AmbiguousNetworkId", ErrorKind.InvalidArgument, nameOrId, $"network {nameOrId} is ambiguous ({prefix.Count} matches found based on ID prefix)");
        throw new EngineException("NetworkNotFound", ErrorKind.ObjectNotFound, nameOrId, $"network {nameOrId} not found");
    }

    /// <summary>docker network create: a bridge network; what this engine cannot make is refused, never ignored.</summary>
    public ContainerNetwork Create(NetworkCreateRequest request)
    {
        var o = request.Options;
        if (string.IsNullOrEmpty(o.Name))
            throw new EngineException("InvalidNetworkName", ErrorKind.InvalidArgument, o.Name, "network name is required");
        if (request.Driver is { Length: > 0 } driver && driver != "bridge")
            throw new EngineException("UnsupportedNetworkDriver", ErrorKind.InvalidArgument, driver,
                $"network driver '{driver}' is not supported: PSContainer makes bridge networks only");
        if (request.EnableIPv6)
            throw new EngineException("IPv6NotSupported", ErrorKind.InvalidArgument, o.Name, "IPv6 networks (EnableIPv6) are not supported: PSContainer's networks are IPv4 only");
        if (request.DriverOptions.Count > 0)
            throw new EngineException("UnsupportedNetworkOption", ErrorKind.InvalidArgument, string.Join(", ", request.DriverOptions.Keys),
                $"network driver options are not supported: {string.Join(", ", request.DriverOptions.Keys)}");
        if (NetworkManager.IsPredefined(o.Name))
            throw new EngineException("PredefinedNetwork", ErrorKind.InvalidOperation, o.Name, $"operation is not permitted on predefined {o.Name} network ");
        if (Manager.Store.ByName(o.Name) is not null)
            throw new EngineException("NetworkExists", ErrorKind.ResourceExists, o.Name, $"network with name {o.Name} already exists");
        return CreateNetwork(o);
    }

    /// <summary>The engine's create (New-ContainerNetwork's, with its own errors) and its create event.</summary>
    public ContainerNetwork CreateNetwork(NetworkCreateOptions o)
    {
        var network = Manager.Create(o);
        events.Network("create", network);
        return network;
    }

    /// <summary>The engine's connect (Connect-ContainerNetwork's) and its connect event: the container as connected.</summary>
    public Containers.Container ConnectContainer(string container, string network, string? address, IReadOnlyList<string> aliases)
    {
        var connected = engine.Containers.Connect(container, network, address, aliases.ToArray());
        if (Recorded(network) is { } n) events.Network("connect", n, connected.Id);
        return connected;
    }

    /// <summary>The engine's disconnect (Disconnect-ContainerNetwork's) and its disconnect event.</summary>
    public Containers.Container DisconnectContainer(string container, string network)
    {
        var disconnected = engine.Containers.Disconnect(container, network);
        if (Recorded(network) is { } n) events.Network("disconnect", n, disconnected.Id);
        return disconnected;
    }

    /// <summary>
    /// The engine's removal (Remove-ContainerNetwork's: force disconnects containers first, and takes down the
    /// predefined bridge's host objects) and its destroy event. The network is looked up without being made, as the
    /// default bridge would be by a resolve.
    /// </summary>
    public void RemoveNetwork(string nameOrId, bool force)
    {
        var recorded = Recorded(nameOrId);
        Manager.Remove(nameOrId, force);
        if (recorded is not null) events.Network("destroy", recorded);
    }

    /// <summary>The recorded network by name, id or unique id prefix (the engine's order), or null: never makes one.</summary>
    private ContainerNetwork? Recorded(string nameOrId)
    {
        var all = Manager.Store.All();
        var hit = all.FirstOrDefault(r => r.Name == nameOrId) ?? all.FirstOrDefault(r => r.Id == nameOrId)
                  ?? (all.Where(r => nameOrId.Length > 0 && r.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList() is [var only] ? only : null);
        return hit is null ? null : Manager.ToNetwork(hit);
    }

    /// <summary>docker network connect: a running container gets its interface at once.</summary>
    public void Connect(string network, string container, string? address, IReadOnlyList<string> aliases)
    {
        var n = Get(network);
        if (n.Network.Name is "host" or "none")
            throw new EngineException("InvalidNetworkMode", ErrorKind.InvalidOperation, n.Network.Name, $"container cannot be disconnected from or connected to the {n.Network.Name} network");
        string id = containers.ResolveId(container);
        ConnectContainer(id, n.Network.Name, address, aliases.Where(a => a.Length > 0).Distinct(StringComparer.Ordinal).ToArray());
    }

    /// <summary>docker network disconnect; force makes a container that is not connected no error.</summary>
    public void Disconnect(string network, string container, bool force)
    {
        var n = Get(network);
        string id = containers.ResolveId(container);
        if (!Manager.EndpointsOf(id).Any(e => e.NetworkId == n.Network.Id))
        {
            if (force) return;
            throw new EngineException("NotConnected", ErrorKind.InvalidOperation, network, $"container {id} is not connected to network {n.Network.Name}");
        }
        DisconnectContainer(id, n.Network.Name);
    }

    /// <summary>docker network rm: refused for the predefined networks and while any container is attached.</summary>
    public void Remove(string nameOrId)
    {
        var n = Get(nameOrId);
        if (n.Predefined)
            throw new EngineException("PredefinedNetwork", ErrorKind.InvalidOperation, n.Network.Name, $"{n.Network.Name} is a pre-defined network and cannot be removed");
        if (n.Endpoints.Count > 0)
            throw InUse(n);
        Manager.Remove(n.Network.Id, force: false);
        events.Network("destroy", n.Network);
    }

    private static EngineException InUse(NetworkDetails n) =>
        new("NetworkInUse", ErrorKind.InvalidOperation, n.Network.Name,
            $"error while removing network: network {n.Network.Name} id {n.Network.Id} has active endpoints ({string.Join(", ", n.Endpoints.Select(e => e.ContainerName))})");

    /// <summary>docker network prune: every user-defined network no container (running or not) is attached to; filters until, label.</summary>
    public IReadOnlyList<string> Prune(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        ObjectFilters.Check(filters, "until", "label", "label!");
        var until = ObjectFilters.Until(filters, DateTime.UtcNow);
        var removed = new List<string>();
        foreach (var n in List().Where(d => !d.Predefined && d.Endpoints.Count == 0))
        {
            if (until is DateTime u && n.Network.Created >= u) continue;
            if (!ObjectFilters.LabelsMatch(filters, n.Network.Labels)) continue;
            try
            {
                Manager.Remove(n.Network.Id, force: false);
                events.Network("destroy", n.Network);
                removed.Add(n.Network.Name);
            }
            catch (EngineException e) when (e.ErrorId is "NetworkInUse" or "NetworkNotFound")
            {
                // A container joined it, or another session removed it, since the listing: not ours to prune.
            }
        }
        return removed;
    }

    /// <summary>A predefined network that has no record: host and none never do, bridge until a container first uses it.</summary>
    private NetworkDetails Synthetic(string name, string driver) => new(new ContainerNetwork
    {
        Id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(engine.Paths.Root + "\0network\0" + name))),
        Name = name,
        Driver = driver,
        Created = Directory.Exists(engine.Paths.Root) ? Directory.GetCreationTimeUtc(engine.Paths.Root) : DateTime.UtcNow,
        IPForwarding = NetworkManager.IPForwarding,
    }, true, []);
}
