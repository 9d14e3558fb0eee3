using System.Globalization;
using System.Text.Json;
using PSContainer.Engine.Containers;

namespace PSContainer.Api;

/// <summary>
/// POST /containers/create's body (docker's ContainerConfig with HostConfig and NetworkingConfig) to the engine's
/// ContainerOptions. Clients send every field, mostly at its zero value; a field the engine cannot honour is refused
/// with a 400 naming it only when it is set, never dropped silently.
/// </summary>
public static class CreateRequestMapper
{
    public static ContainerOptions Map(JsonElement body, string? name)
    {
        if (body.ValueKind != JsonValueKind.Object) throw ApiException.BadParameter("config cannot be empty in order to create a container");
        var o = new ContainerOptions { Name = string.IsNullOrEmpty(name) ? null : name };
        var refused = new List<string>();
        var ports = new HashSet<string>(StringComparer.Ordinal);
        JsonElement? exposed = null;
        List<EndpointRequest> endpoints = [];
        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "Image": o.Image = Str(v) ?? ""; break;
                case "Cmd": if (Strings(v) is { } cmd) o.Command = cmd; break;
                case "Entrypoint": if (Strings(v) is { } ep) o.Entrypoint = ep; break;
                case "Env": foreach (string e in Strings(v) ?? []) AddEnv(o, e); break;
                case "Labels": o.Labels = Map(v); break;
                case "WorkingDir": o.WorkingDirectory = NonEmpty(v); break;
                case "User": o.User = NonEmpty(v); break;
                case "Hostname": o.Hostname = NonEmpty(v); break;
                case "StopSignal": o.StopSignal = NonEmpty(v); break;
                case "StopTimeout": if (v.ValueKind == JsonValueKind.Number) o.StopTimeout = v.GetInt32(); break;
                case "Volumes": foreach (var vol in Object(v)) o.Volumes.Add(vol.Name); break;
                case "ExposedPorts": exposed = v; break;
                // What the client attaches to and which options only shape an image build: nothing to honour at create.
                case "AttachStdout" or "AttachStderr" or "ArgsEscaped" or "Shell" or "OnBuild": break;
                // Docker.DotNet(.Enhanced), Testcontainers' client, echoes the ?name= query in the body; dockerd reads
                // only the query and has no such body field.
                case "Name": break;
                case "Healthcheck": o.Healthcheck = HealthJson.Read(v); break;
                case "HostConfig": MapHostConfig(v, o, refused, ports); break;
                case "NetworkingConfig": endpoints = MapNetworking(v, refused); break;
                // A terminal held by the container's monitor (docker run -it), or without one a stdin pipe it holds (-i).
                case "Tty": o.Tty = IsTrue(v); break;
                case "OpenStdin": o.Interactive = IsTrue(v); break;
                case "StdinOnce": o.StdinOnce = IsTrue(v); break;
                // What the client attaches: the attach decides.
                case "AttachStdin": break;
                default: Refuse(p.Name, v, refused); break;
            }
        }
        if (exposed is { } ex)
            foreach (var port in Object(ex))
                if (!ports.Contains(NormalisePort(port.Name)) && !o.PublishAll)
                    refused.Add($"ExposedPorts {port.Name} (exposing a port without publishing it is not supported)");
        DropCoveredAnonymousVolumes(o);
        MatchEndpointNetworks(body, endpoints, o, refused);
        if (o.StdinOnce && !o.Interactive) o.StdinOnce = false; // dockerd keeps it, but without OpenStdin there is no stdin to close
        if (refused.Count > 0)
            throw ApiException.BadParameter("PSContainer cannot honour these container settings: " + string.Join("; ", refused));
        if (o.Image.Length == 0) throw ApiException.BadParameter("config cannot be empty in order to create a container: no Image");
        return o;
    }

    private static void MapHostConfig(JsonElement hc, ContainerOptions o, List<string> refused, HashSet<string> ports)
    {
        foreach (var p in Object(hc))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "AutoRemove": o.AutoRemove = IsTrue(v); break;
                // docker run -t's window size: the CLI sends it again as a resize once the container started (the
                // attach applies it), so the terminal starts at the runtime's default size only for that moment.
                case "ConsoleSize": break;
                case "Binds": o.Volumes.AddRange(Strings(v) ?? []); break;
                case "Mounts":
                    foreach (var m in Array(v)) o.Mounts.Add(MountText(m, refused));
                    break;
                case "PortBindings":
                    foreach (var (spec, port) in PortSpecs(v)) { o.Publish.Add(spec); ports.Add(port); }
                    break;
                case "PublishAllPorts": o.PublishAll = IsTrue(v); break;
                case "NetworkMode":
                    string mode = Str(v) ?? "";
                    o.Network = mode is "" or "default" ? "bridge" : mode;
                    break;
                case "Memory": o.Memory = PositiveLong(v); break;
                case "MemorySwap": o.MemorySwap = Long(v) is long s and (> 0 or -1) ? s : null; break;
                case "MemoryReservation": o.MemoryReservation = PositiveLong(v); break;
                case "MemorySwappiness": o.MemorySwappiness = Long(v) is long sw and >= 0 ? sw : null; break;
                case "NanoCpus": o.Cpus = PositiveLong(v) is long nano ? nano / 1e9 : null; break;
                case "CpuShares": o.CpuShares = PositiveLong(v); break;
                case "PidsLimit": o.PidsLimit = PositiveLong(v); break;
                case "CpusetCpus": o.CpusetCpus = NonEmpty(v); break;
                case "CpusetMems": o.CpusetMems = NonEmpty(v); break;
                case "BlkioWeight": o.BlkioWeight = PositiveLong(v) is long w ? (int)w : null; break;
                case "OomKillDisable": o.OomKillDisable = IsTrue(v); break;
                case "OomScoreAdj": o.OomScoreAdj = Long(v) is long adj and not 0 ? (int)adj : null; break;
                case "ShmSize": o.ShmSize = PositiveLong(v); break;
                case "Privileged": o.Privileged = IsTrue(v); break;
                case "ReadonlyRootfs": o.ReadOnly = IsTrue(v); break;
                case "Init": o.Init = IsTrue(v); break;
                case "CapAdd": o.CapAdd.AddRange(Strings(v) ?? []); break;
                case "CapDrop": o.CapDrop.AddRange(Strings(v) ?? []); break;
                case "SecurityOpt": o.SecurityOptions.AddRange(Strings(v) ?? []); break;
                case "GroupAdd": o.GroupAdd.AddRange(Strings(v) ?? []); break;
                case "Dns": o.DnsServers.AddRange(Strings(v) ?? []); break;
                case "ExtraHosts": o.AddHosts.AddRange(Strings(v) ?? []); break;
                case "Sysctls": foreach (var (k, val) in Map(v)) o.Sysctls[k] = val; break;
                case "Tmpfs": foreach (var (path, opts) in Map(v)) o.Tmpfs.Add(opts.Length > 0 ? path + ":" + opts : path); break;
                case "Ulimits":
                    foreach (var u in Array(v))
                        o.Ulimits.Add($"{Str(u.GetProperty("Name"))}={Long(u.GetProperty("Soft"))}:{Long(u.GetProperty("Hard"))}");
                    break;
                case "Devices":
                    foreach (var d in Array(v))
                        o.Devices.Add(string.Join(':', new[] { "PathOnHost", "PathInContainer", "CgroupPermissions" }
                            .Select(k => d.TryGetProperty(k, out var x) ? Str(x) ?? "" : "").Where(x => x.Length > 0)));
                    break;
                case "Runtime": if (NonEmpty(v) is { } rt) o.Runtime = rt; break;
                case "PidMode": o.PidMode = NonEmpty(v); break;
                case "IpcMode": o.IpcMode = NonEmpty(v) is { } ipc and not "private" ? ipc : null; break;
                case "UTSMode": o.UtsMode = NonEmpty(v); break;
                case "RestartPolicy":
                    string policy = v.ValueKind == JsonValueKind.Object && v.TryGetProperty("Name", out var n) ? Str(n) ?? "" : "";
                    if (policy is not ("" or "no")) refused.Add($"HostConfig.RestartPolicy {policy} (restart policies are not served by this API yet)");
                    break;
                case "LogConfig":
                    string type = v.ValueKind == JsonValueKind.Object && v.TryGetProperty("Type", out var t) ? Str(t) ?? "" : "";
                    // The engine always keeps a log docker logs reads; json-file (docker's default) asks for no more.
                    if (type is not ("" or "json-file" or "k8s-file")) refused.Add($"HostConfig.LogConfig.Type {type} (only the engine's own log)");
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("Config", out var cfg))
                        foreach (var (k, val) in Map(cfg)) o.LogOptions[k] = val;
                    break;
                case "CgroupnsMode" when Str(v) is "" or "host" or null: break;
                case "Isolation" when Str(v) is "" or "default" or null: break;
                // Ignored whatever its value from 1.42 on, as dockerd does; older versions still ask for it.
                case "KernelMemory" when ApiVersion.RequestedAtLeast(1, 42): break;
                default: Refuse("HostConfig." + p.Name, v, refused); break;
            }
        }
    }

    /// <summary>One entry of NetworkingConfig.EndpointsConfig: the network it names, its address and aliases.</summary>
    private sealed record EndpointRequest(string Network, string? Address, List<string> Aliases);

    private static List<EndpointRequest> MapNetworking(JsonElement nc, List<string> refused)
    {
        var result = new List<EndpointRequest>();
        foreach (var p in Object(nc))
        {
            if (p.Name != "EndpointsConfig")
            {
                Refuse("NetworkingConfig." + p.Name, p.Value, refused);
                continue;
            }
            foreach (var ep in Object(p.Value))
            {
                var endpoint = new EndpointRequest(ep.Name, null, []);
                foreach (var f in Object(ep.Value))
                {
                    switch (f.Name)
                    {
                        case "Aliases": endpoint.Aliases.AddRange(Strings(f.Value) ?? []); break;
                        case "IPAMConfig":
                            foreach (var ipam in Object(f.Value))
                                if (ipam.Name == "IPv4Address") endpoint = endpoint with { Address = NonEmpty(ipam.Value) };
                                else Refuse($"NetworkingConfig.EndpointsConfig.{ep.Name}.IPAMConfig.{ipam.Name}", ipam.Value, refused);
                            break;
                        // Filled in by the daemon in answers; clients echo them empty.
                        case "NetworkID" or "EndpointID" or "Gateway" or "IPAddress" or "IPPrefixLen" or "IPv6Gateway" or "GlobalIPv6Address"
                            or "GlobalIPv6PrefixLen" or "MacAddress" or "DriverOpts" or "Links" or "DNSNames" when IsZero(f.Value): break;
                        default: Refuse($"NetworkingConfig.EndpointsConfig.{ep.Name}.{f.Name}", f.Value, refused); break;
                    }
                }
                result.Add(endpoint);
            }
        }
        return result;
    }

    /// <summary>
    /// Which endpoint is the container's own network (HostConfig.NetworkMode; without one, the first endpoint) and
    /// which it joins besides. Before API 1.44 a create names at most one network, dockerd's refusal otherwise; from
    /// 1.44 every endpoint is joined at create (docker run --network a --network b), each with its own aliases and address.
    /// </summary>
    private static void MatchEndpointNetworks(JsonElement body, List<EndpointRequest> endpoints, ContainerOptions o, List<string> refused)
    {
        if (endpoints.Count == 0) return;
        string mode = body.TryGetProperty("HostConfig", out var hc) && hc.ValueKind == JsonValueKind.Object
                      && hc.TryGetProperty("NetworkMode", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        bool several = ApiVersion.RequestedAtLeast(1, 44);
        if (endpoints.Count > 1 && !several)
            throw ApiException.BadParameter("Container cannot be connected to network endpoints: " + string.Join(", ", endpoints.Select(e => e.Network)));
        // docker 25+ names the endpoint of NetworkMode "default" "default" too: the daemon's default network.
        static string Named(string n) => n is "default" ? "bridge" : n;
        if (mode is "" or "default") o.Network = Named(endpoints[0].Network);
        foreach (var e in endpoints)
        {
            string network = Named(e.Network);
            if (network == o.Network)
            {
                o.NetworkAliases.AddRange(e.Aliases);
                o.IPAddress = e.Address;
            }
            else if (several)
            {
                o.MoreNetworks.Add(new NetworkAttachment { Network = network, IPAddress = e.Address, Aliases = e.Aliases });
            }
            else
            {
                refused.Add($"NetworkingConfig.EndpointsConfig.{e.Network} (only the network of HostConfig.NetworkMode, {o.Network}, at create before API 1.44; connect others with docker network connect)");
            }
        }
    }

    /// <summary>
    /// Config.Volumes names every volume destination, also those HostConfig.Binds or Mounts fill (compose sends
    /// both for a named volume): as in dockerd, a bare destination becomes an anonymous volume only where nothing
    /// else is mounted.
    /// </summary>
    private static void DropCoveredAnonymousVolumes(ContainerOptions o)
    {
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (string v in o.Volumes)
            if (v.Split(':') is { Length: >= 2 } parts) covered.Add(parts[1].TrimEnd('/'));
        foreach (string m in o.Mounts)
            foreach (string part in m.Split(','))
                if (part.StartsWith("target=", StringComparison.Ordinal)) covered.Add(part["target=".Length..].TrimEnd('/'));
        o.Volumes.RemoveAll(v => !v.Contains(':') && covered.Contains(v.TrimEnd('/')));
    }

    /// <summary>{"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]} as -Publish specs, with the container port each publishes.</summary>
    public static IEnumerable<(string Spec, string Port)> PortSpecs(JsonElement bindings)
    {
        foreach (var p in Object(bindings))
        {
            string port = NormalisePort(p.Name);
            var list = Array(p.Value).ToList();
            if (list.Count == 0) list.Add(default);
            foreach (var b in list)
            {
                string ip = b.ValueKind == JsonValueKind.Object && b.TryGetProperty("HostIp", out var i) ? Str(i) ?? "" : "";
                string hostPort = b.ValueKind == JsonValueKind.Object && b.TryGetProperty("HostPort", out var h) ? Str(h) ?? "" : "";
                yield return ($"{ip}:{hostPort}:{port}", port);
            }
        }
    }

    private static string NormalisePort(string port) => port.Contains('/') ? port : port + "/tcp";

    private static string MountText(JsonElement m, List<string> refused)
    {
        var parts = new List<string>();
        foreach (var p in Object(m))
        {
            switch (p.Name)
            {
                case "Type": parts.Add("type=" + Str(p.Value)); break;
                case "Source" when NonEmpty(p.Value) is { } s: parts.Add("source=" + s); break;
                case "Target": parts.Add("target=" + Str(p.Value)); break;
                case "ReadOnly" when IsTrue(p.Value): parts.Add("readonly"); break;
                default: Refuse("HostConfig.Mounts." + p.Name, p.Value, refused); break;
            }
        }
        return string.Join(',', parts);
    }

    private static void AddEnv(ContainerOptions o, string e)
    {
        int eq = e.IndexOf('=');
        // "NAME" alone takes the client's value in docker run; a bare name reaching the daemon is set empty, as dockerd.
        if (eq < 0) o.Environment[e] = "";
        else o.Environment[e[..eq]] = e[(eq + 1)..];
    }

    private static void Refuse(string field, JsonElement value, List<string> refused)
    {
        if (!IsZero(value)) refused.Add($"{field} (not supported)");
    }

    /// <summary>Docker's zero values: null, false, 0, "", and arrays or objects of nothing but zeros.</summary>
    public static bool IsZero(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => true,
        JsonValueKind.Number => v.TryGetDouble(out double d) && d == 0,
        JsonValueKind.String => v.GetString()!.Length == 0,
        JsonValueKind.Array => v.EnumerateArray().All(IsZero),
        JsonValueKind.Object => v.EnumerateObject().All(p => IsZero(p.Value)),
        _ => false,
    };

    private static bool IsTrue(JsonElement v) => v.ValueKind == JsonValueKind.True;

    private static string? Str(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => throw ApiException.BadParameter($"expected a string, got {v.GetRawText()}"),
    };

    private static string? NonEmpty(JsonElement v) => Str(v) is { Length: > 0 } s ? s : null;

    private static long? Long(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => v.TryGetInt64(out long l) ? l : (long)v.GetDouble(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String when long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) => s,
        _ => throw ApiException.BadParameter($"expected a number, got {v.GetRawText()}"),
    };

    private static long? PositiveLong(JsonElement v) => Long(v) is long l and > 0 ? l : null;

    /// <summary>An array of strings; docker's strslice also takes one string.</summary>
    private static string[]? Strings(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => v.EnumerateArray().Select(e => Str(e) ?? "").ToArray(),
        JsonValueKind.String => [v.GetString()!],
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => throw ApiException.BadParameter($"expected an array of strings, got {v.GetRawText()}"),
    };

    private static Dictionary<string, string> Map(JsonElement v) =>
        Object(v).ToDictionary(p => p.Name, p => Str(p.Value) ?? "", StringComparer.Ordinal);

    private static IEnumerable<JsonProperty> Object(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => v.EnumerateObject(),
        JsonValueKind.Null or JsonValueKind.Undefined => [],
        _ => throw ApiException.BadParameter($"expected an object, got {v.GetRawText()}"),
    };

    private static IEnumerable<JsonElement> Array(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => v.EnumerateArray(),
        JsonValueKind.Null or JsonValueKind.Undefined => [],
        _ => throw ApiException.BadParameter($"expected an array, got {v.GetRawText()}"),
    };
}
