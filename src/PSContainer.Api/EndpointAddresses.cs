using System.Globalization;
using System.Text.Json.Nodes;
using PSContainer.Engine.Networks;

namespace PSContainer.Api;

/// <summary>
/// Fills the gateway and prefix length of a running container's networks into its inspect answer, as dockerd does.
/// Clients read them: Testcontainers, when it runs inside a container itself (/.dockerenv) and the engine is on a unix
/// socket, reaches published ports through NetworkSettings.Networks[*].Gateway.
/// </summary>
public static class EndpointAddresses
{
    public static void Fill(JsonObject inspect, IReadOnlyList<ContainerNetwork> networks)
    {
        if (inspect["NetworkSettings"] is not JsonObject settings || settings["Networks"] is not JsonObject attached) return;
        foreach (var (name, node) in attached)
        {
            if (node is not JsonObject endpoint || string.IsNullOrEmpty((string?)endpoint["IPAddress"])) continue;
            var network = networks.FirstOrDefault(n => n.Name == name);
            if (network is null || network.Gateway.Length == 0) continue;
            int prefix = PrefixLength(network.Subnet);
            endpoint["Gateway"] = network.Gateway;
            endpoint["IPPrefixLen"] = prefix;
            // The top-level fields describe the default bridge only (docker's legacy view).
            if (name == "bridge")
            {
                settings["Gateway"] = network.Gateway;
                settings["IPPrefixLen"] = prefix;
            }
        }
    }

    private static int PrefixLength(string subnet) =>
        subnet.IndexOf('/') is int slash and > 0 && int.TryParse(subnet[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : 0;
}
