using PSContainer.Engine.Networks;

namespace PSContainer.Engine.Containers;

// docker events' network type for a container's own run: dockerd records a connect for each network the container's
// start joins (before the container's start event) and a disconnect for each when it stops (after its die event).
// docker network connect/disconnect of a running container are the network service's events.
public sealed partial class ContainerManager
{
    /// <summary>A network event as dockerd records it: the actor is the network's id, with its name and driver (type),
    /// and for connect and disconnect the container's id.</summary>
    public static ContainerEvent NetworkEvent(string action, ContainerNetwork network, string? containerId, DateTime? time = null)
    {
        var attributes = new Dictionary<string, string> { ["name"] = network.Name, ["type"] = network.Driver };
        if (containerId is not null) attributes["container"] = containerId;
        return new ContainerEvent { Time = time ?? DateTime.UtcNow, Type = "network", Action = action, Id = network.Id, Name = network.Name, Attributes = attributes };
    }

    /// <summary>connect or disconnect of each network the container has an endpoint on (none for host, none or container: modes).</summary>
    private void RecordNetworkEvents(ContainerRecord record, string action, DateTime? time)
    {
        try
        {
            var endpoints = Networks.EndpointsOf(record.Id);
            if (endpoints.Count == 0) return;
            var networks = Networks.Store.All().ToDictionary(n => n.Id, StringComparer.Ordinal);
            foreach (var endpoint in endpoints.OrderBy(e => e.Position))
                if (networks.TryGetValue(endpoint.NetworkId, out var network))
                    RecordObjectEvent(NetworkEvent(action, Networks.ToNetwork(network), record.Id, time));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any failure (a busy or damaged state db too): an exception here would undo a start that happened, or
            // skip an exited --rm container's removal.
            // The start or exit itself happened; only its network events are lost, and the user is told.
            warnings.Enqueue($"Could not record the network {action} events of container {record.Name}: {e.Message}");
        }
    }
}
