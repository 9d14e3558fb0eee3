using PSContainer.Engine.Networks;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Networks a container joins at create besides its own (docker run --network a --network b): each gets an endpoint
/// with its own address and aliases, recorded with the container like a docker network connect before start, so the
/// start wires every endpoint (ethN each) and removal releases them all.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>Refuses, before anything is made, networks that cannot be joined together with the container's own.</summary>
    private void ValidateMoreNetworks(ContainerOptions options)
    {
        if (options.MoreNetworks.Count == 0) return;
        var all = new[] { options.Network }.Concat(options.MoreNetworks.Select(a => a.Network)).ToList();
        if (all.FirstOrDefault(NetworkManager.IsSpecialMode) is { } special)
            throw new EngineException("ConflictingNetworkModes", ErrorKind.InvalidArgument, special,
                $"Conflicting options: -Network {special} cannot be combined with other networks (a container joins several networks only when each is bridge or a user-defined network).");
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in all)
        {
            // The default network is made on first use: naming it must not make it before the create succeeds.
            string id = name == NetworkManager.DefaultNetwork ? name : Networks.Resolve(name).Id;
            if (seen.TryGetValue(id, out string? before))
                throw new EngineException("DuplicateNetwork", ErrorKind.InvalidArgument, name,
                    $"Network '{name}' is named twice{(before == name ? "" : $" (as '{before}' too)")}: a container has one endpoint per network.");
            seen[id] = name;
        }
    }

    /// <summary>Records the extra endpoints of a container being created; the create's failure path releases them with the rest.</summary>
    private void AttachMoreNetworks(string containerId, ContainerOptions options)
    {
        foreach (var a in options.MoreNetworks)
            Networks.Connect(containerId, a.Network, a.IPAddress, a.Aliases.Distinct(StringComparer.Ordinal).ToArray(), netnsPath: null);
    }
}
