using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Networks;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>docker network ls/inspect/create/connect/disconnect/rm/prune over <see cref="NetworkService"/>.</summary>
public static class NetworkEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Networks;

        app.MapGet("/networks", (HttpRequest r) =>
            Results.Json(new JsonArray(s.List(Query.Filters(r)).Select(d => (JsonNode?)ObjectJson.Network(d, withContainers: false)).ToArray())));

        app.MapGet("/networks/{id}", (string id, HttpRequest r) =>
        {
            if (Query.String(r, "scope") is { } scope && scope != "local")
                throw new ApiException(StatusCodes.Status404NotFound, $"network {id} not found");
            return Results.Json(ObjectJson.Network(s.Get(id), withContainers: true));
        });

        app.MapPost("/networks/create", async (HttpRequest r) =>
        {
            var (doc, body) = await RequestBody.ReadAsync(r);
            using (doc)
            {
                var network = Forbidden(() => s.Create(CreateRequest(body)));
                return Results.Json(new JsonObject { ["Id"] = network.Id, ["Warning"] = "" }, statusCode: StatusCodes.Status201Created);
            }
        });

        app.MapPost("/networks/{id}/connect", async (string id, HttpRequest r) =>
        {
            var (doc, body) = await RequestBody.ReadAsync(r);
            using (doc)
            {
                string container = "";
                string? address = null;
                var aliases = new List<string>();
                foreach (var p in body.Fields(body.Root))
                {
                    if (p.Name == "Container") container = RequestBody.String(p.Value) ?? "";
                    else if (p.Name == "EndpointConfig") (address, aliases) = EndpointConfig(body, p.Value);
                    else body.Refuse(p.Name, p.Value);
                }
                body.ThrowIfRefused("network connect");
                if (container.Length == 0) throw ApiException.BadParameter("Container is required");
                Forbidden(() => s.Connect(id, container, address, aliases));
                return Results.Ok();
            }
        });

        app.MapPost("/networks/{id}/disconnect", async (string id, HttpRequest r) =>
        {
            var (doc, body) = await RequestBody.ReadAsync(r);
            using (doc)
            {
                string container = body.Root.TryGetProperty("Container", out var c) ? RequestBody.String(c) ?? "" : "";
                bool force = body.Root.TryGetProperty("Force", out var f) && RequestBody.Bool(f);
                if (container.Length == 0) throw ApiException.BadParameter("Container is required");
                Forbidden(() => s.Disconnect(id, container, force));
                return Results.Ok();
            }
        });

        app.MapDelete("/networks/{id}", (string id) =>
        {
            Forbidden(() => s.Remove(id));
            return Results.NoContent();
        });

        app.MapPost("/networks/prune", (HttpRequest r) =>
        {
            var removed = s.Prune(Query.Filters(r));
            return Results.Json(new JsonObject { ["NetworksDeleted"] = DockerJson.Array(removed) });
        });
    }

    /// <summary>docker answers 403 Forbidden where an operation is not permitted on a network (predefined, or with endpoints).</summary>
    private static T Forbidden<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (EngineException e) when (e.ErrorId is "PredefinedNetwork" or "NetworkInUse" or "InvalidNetworkMode" or "AlreadyConnected")
        {
            throw new ApiException(StatusCodes.Status403Forbidden, e.Message);
        }
    }

    private static void Forbidden(Action action) => Forbidden(() => { action(); return 0; });

    private static NetworkCreateRequest CreateRequest(RequestBody body)
    {
        var o = new NetworkCreateOptions();
        string? driver = null;
        bool ipv6 = false;
        var driverOptions = new Dictionary<string, string>();
        foreach (var p in body.Fields(body.Root))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "Name": o.Name = RequestBody.String(v) ?? ""; break;
                // Names are always unique here: the duplicate check is made whatever the client asks.
                case "CheckDuplicate": break;
                case "Driver": driver = RequestBody.String(v); break;
                case "Internal": o.Internal = RequestBody.Bool(v); break;
                // Swarm's flag: every local network takes containers that ask to join.
                case "Attachable": break;
                case "EnableIPv6": ipv6 = RequestBody.Bool(v); break;
                case "Labels": o.Labels = body.Map(v); break;
                case "Options": driverOptions = body.Map(v); break;
                case "Scope" when RequestBody.String(v) is null or "local": break;
                case "IPAM": Ipam(body, v, o); break;
                case "Ingress": body.Refuse(p.Name, v, "swarm's routing mesh"); break;
                default: body.Refuse(p.Name, v); break;
            }
        }
        body.ThrowIfRefused("network");
        return new NetworkCreateRequest { Options = o, Driver = driver, EnableIPv6 = ipv6, DriverOptions = driverOptions };
    }

    private static void Ipam(RequestBody body, JsonElement ipam, NetworkCreateOptions o)
    {
        foreach (var p in body.Fields(ipam))
        {
            switch (p.Name)
            {
                case "Driver" when RequestBody.String(p.Value) is null or "default": break;
                case "Driver": body.Refuse("IPAM.Driver", p.Value, "only the default IPAM driver"); break;
                case "Options": body.Refuse("IPAM.Options", p.Value); break;
                case "Config":
                    var configs = p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().Where(c => !CreateRequestMapper.IsZero(c)).ToList() : [];
                    if (configs.Count > 1) body.Refuse("IPAM.Config", p.Value, "one subnet per network only");
                    foreach (var c in configs.Take(1))
                        foreach (var f in body.Fields(c))
                        {
                            switch (f.Name)
                            {
                                case "Subnet": o.Subnet = RequestBody.String(f.Value); break;
                                case "Gateway": o.Gateway = RequestBody.String(f.Value); break;
                                case "IPRange": o.IPRange = RequestBody.String(f.Value); break;
                                default: body.Refuse("IPAM.Config." + f.Name, f.Value); break;
                            }
                        }
                    if (o.Subnet is { } subnet && subnet.Contains(':'))
                        throw ApiException.BadParameter($"IPv6 subnet {subnet} is not supported: PSContainer's networks are IPv4 only");
                    break;
                default: body.Refuse("IPAM." + p.Name, p.Value); break;
            }
        }
    }

    /// <summary>docker network connect's EndpointConfig: aliases and a fixed IPv4 address; the daemon's own fields come back empty.</summary>
    private static (string? Address, List<string> Aliases) EndpointConfig(RequestBody body, JsonElement config)
    {
        string? address = null;
        var aliases = new List<string>();
        foreach (var f in body.Fields(config))
        {
            switch (f.Name)
            {
                case "Aliases": aliases = RequestBody.Strings(f.Value); break;
                case "IPAMConfig":
                    foreach (var ipam in body.Fields(f.Value))
                        if (ipam.Name == "IPv4Address") address = RequestBody.String(ipam.Value);
                        else body.Refuse("EndpointConfig.IPAMConfig." + ipam.Name, ipam.Value);
                    break;
                case "NetworkID" or "EndpointID" or "Gateway" or "IPAddress" or "IPPrefixLen" or "IPv6Gateway" or "GlobalIPv6Address"
                    or "GlobalIPv6PrefixLen" or "MacAddress":
                    break;
                default: body.Refuse("EndpointConfig." + f.Name, f.Value); break;
            }
        }
        return (address, aliases);
    }
}
