using System.Globalization;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>Engine objects in the JSON shapes of the Docker Engine API (v1.41 schemas: ContainerSummary,
/// ContainerInspectResponse, ImageSummary, ImageInspect).</summary>
public static class DockerJson
{
    private static readonly DateTime Epoch = DateTime.UnixEpoch;

    /// <summary>Go's zero time, which dockerd writes for a time that has not happened.</summary>
    public const string ZeroTime = "0001-01-01T00:00:00Z";

    public static string Time(DateTime? t) => t is DateTime v ? v.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) : ZeroTime;

    /// <summary>Go's RFC3339Nano (trailing zeros of the fraction dropped), as docker logs -t prints times.</summary>
    public static string Rfc3339Nano(DateTime t)
    {
        string fraction = t.ToUniversalTime().ToString("fffffff", CultureInfo.InvariantCulture).TrimEnd('0');
        return t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + (fraction.Length > 0 ? "." + fraction : "") + "Z";
    }

    public static long Unix(DateTime t) => (long)(t.ToUniversalTime() - Epoch).TotalSeconds;

    internal static JsonArray Array(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

    internal static JsonObject Object(IEnumerable<KeyValuePair<string, string>> items)
    {
        var o = new JsonObject();
        foreach (var (k, v) in items) o[k] = v;
        return o;
    }

    private static string NetworkName(ContainerDetails d) => d.Options.Network is "bridge" or "" ? "bridge" : d.Options.Network;

    private static JsonObject Networks(ContainerDetails d)
    {
        var networks = new JsonObject();
        foreach (var e in d.Endpoints)
        {
            networks[e.NetworkName] = new JsonObject
            {
                ["IPAMConfig"] = null,
                ["Links"] = null,
                // dockerd adds the short id on user-defined networks; compose reconnects a container whose aliases lack it.
                ["Aliases"] = Array(e.NetworkName == "bridge" ? e.Aliases : e.Aliases.Append(d.Container.ShortId).Distinct()),
                ["NetworkID"] = e.NetworkId,
                ["EndpointID"] = e.ContainerId + "-" + e.NetworkId,
                ["Gateway"] = "",
                ["IPAddress"] = d.Container.State == ContainerState.Running ? e.Address : "",
                ["IPPrefixLen"] = 0,
                ["MacAddress"] = "",
            };
            // 1.44 names what the container answers to on the network's DNS; the default bridge has no DNS.
            if (ApiVersion.RequestedAtLeast(1, 44))
                networks[e.NetworkName]!["DNSNames"] = e.NetworkName == "bridge" ? null
                    : Array(new[] { d.Container.Name }.Concat(e.Aliases).Append(d.Container.Id[..Math.Min(12, d.Container.Id.Length)]).Distinct());
        }
        return networks;
    }

    /// <summary>One entry of GET /containers/json.</summary>
    public static JsonObject Summary(ContainerDetails d)
    {
        var c = d.Container;
        var ports = new JsonArray();
        // As docker ps: a stopped container publishes nothing (its bindings stay in HostConfig).
        foreach (var p in c.State is ContainerState.Running or ContainerState.Paused ? d.Ports : [])
            ports.Add(new JsonObject { ["IP"] = p.HostIp, ["PrivatePort"] = p.ContainerPort, ["PublicPort"] = p.HostPort, ["Type"] = p.Protocol });
        return new JsonObject
        {
            ["Id"] = c.Id,
            ["Names"] = Array(["/" + c.Name]),
            ["Image"] = c.Image,
            ["ImageID"] = c.ImageId,
            ["Command"] = string.Join(' ', c.Command),
            ["Created"] = Unix(c.Created),
            ["Ports"] = ports,
            ["Labels"] = Object(c.Labels),
            ["State"] = ContainerService.DockerStatus(c),
            ["Status"] = c.Status,
            ["HostConfig"] = new JsonObject { ["NetworkMode"] = NetworkName(d) },
            ["NetworkSettings"] = new JsonObject { ["Networks"] = Networks(d) },
            ["Mounts"] = Mounts(c),
        };
    }

    private static JsonArray Mounts(Container c)
    {
        var mounts = new JsonArray();
        foreach (var m in c.Mounts)
            mounts.Add(new JsonObject
            {
                ["Type"] = m.Type,
                ["Source"] = m.Source,
                ["Destination"] = m.Destination,
                ["Mode"] = m.ReadOnly ? "ro" : "",
                ["RW"] = !m.ReadOnly,
                ["Propagation"] = "",
            });
        return mounts;
    }

    /// <summary>GET /containers/{id}/json.</summary>
    public static JsonObject Inspect(ContainerDetails d, ContainerImage? image)
    {
        var c = d.Container;
        var o = d.Options;
        var portMap = new JsonObject();
        bool live = c.State is ContainerState.Running or ContainerState.Paused;
        foreach (var group in (live ? d.Ports : []).GroupBy(p => $"{p.ContainerPort.ToString(CultureInfo.InvariantCulture)}/{p.Protocol}"))
            portMap[group.Key] = new JsonArray(group.Select(p => (JsonNode?)new JsonObject
            {
                ["HostIp"] = p.HostIp,
                ["HostPort"] = p.HostPort.ToString(CultureInfo.InvariantCulture),
            }).ToArray());
        var bindings = new JsonObject();
        foreach (var group in d.Ports.GroupBy(p => $"{p.ContainerPort.ToString(CultureInfo.InvariantCulture)}/{p.Protocol}"))
            bindings[group.Key] = new JsonArray(group.Select(p => (JsonNode?)new JsonObject { ["HostIp"] = p.HostIp, ["HostPort"] = p.HostPort.ToString(CultureInfo.InvariantCulture) }).ToArray());
        var exposed = new JsonObject();
        foreach (string key in d.Ports.Select(p => $"{p.ContainerPort.ToString(CultureInfo.InvariantCulture)}/{p.Protocol}").Concat(image?.Config.ExposedPorts ?? []).Distinct())
            exposed[key] = new JsonObject();
        bool running = live;
        string[] entrypoint = o.Entrypoint ?? image?.Config.Entrypoint ?? [];
        string[] cmd = o.Command ?? (o.Entrypoint is null ? image?.Config.Cmd ?? [] : []);
        var env = (image?.Config.Env ?? []).Where(e => !o.Environment.ContainsKey(e.Split('=')[0])).Concat(c.Environment);
        var labels = new Dictionary<string, string>(image?.Config.Labels ?? new Dictionary<string, string>());
        foreach (var (k, v) in c.Labels) labels[k] = v;
        return new JsonObject
        {
            ["Id"] = c.Id,
            ["Created"] = Time(c.Created),
            ["Path"] = c.Command.FirstOrDefault() ?? "",
            ["Args"] = Array(c.Command.Skip(1)),
            ["State"] = new JsonObject
            {
                ["Status"] = ContainerService.DockerStatus(c),
                ["Running"] = c.State == ContainerState.Running,
                ["Paused"] = c.State == ContainerState.Paused,
                ["Restarting"] = false,
                ["OOMKilled"] = c.OOMKilled,
                ["Dead"] = c.State == ContainerState.Dead,
                ["Pid"] = running ? c.Pid : 0,
                ["ExitCode"] = c.ExitCode ?? 0,
                ["Error"] = c.Error ?? "",
                ["StartedAt"] = Time(c.StartedAt),
                ["FinishedAt"] = Time(c.FinishedAt),
                ["Health"] = HealthJson.State(c.Health),
            },
            ["Image"] = c.ImageId,
            ["ResolvConfPath"] = "",
            ["HostnamePath"] = "",
            ["HostsPath"] = "",
            ["LogPath"] = c.LogPath,
            ["Name"] = "/" + c.Name,
            ["RestartCount"] = 0,
            ["Driver"] = "overlay",
            ["Platform"] = "linux",
            ["MountLabel"] = "",
            ["ProcessLabel"] = "",
            ["AppArmorProfile"] = "",
            ["ExecIDs"] = null,
            ["HostConfig"] = new JsonObject
            {
                ["Binds"] = Array(o.Volumes),
                ["NetworkMode"] = NetworkName(d),
                ["PortBindings"] = bindings,
                ["RestartPolicy"] = new JsonObject { ["Name"] = "no", ["MaximumRetryCount"] = 0 },
                ["AutoRemove"] = o.AutoRemove,
                ["Privileged"] = o.Privileged,
                ["PublishAllPorts"] = o.PublishAll,
                ["ReadonlyRootfs"] = o.ReadOnly,
                ["CapAdd"] = Array(o.CapAdd),
                ["CapDrop"] = Array(o.CapDrop),
                ["Dns"] = Array(o.DnsServers),
                ["ExtraHosts"] = Array(o.AddHosts),
                ["SecurityOpt"] = Array(o.SecurityOptions),
                ["Runtime"] = o.Runtime,
                ["Memory"] = o.Memory ?? 0,
                ["MemorySwap"] = o.MemorySwap ?? 0,
                ["NanoCpus"] = o.Cpus is double cpus ? (long)Math.Round(cpus * 1e9) : 0,
                ["CpuShares"] = o.CpuShares ?? 0,
                ["PidsLimit"] = o.PidsLimit,
                ["LogConfig"] = new JsonObject { ["Type"] = "k8s-file", ["Config"] = Object(o.LogOptions) },
            },
            ["Mounts"] = Mounts(c),
            ["Config"] = new JsonObject
            {
                ["Hostname"] = c.Hostname,
                ["Domainname"] = "",
                ["User"] = c.User,
                ["AttachStdin"] = false,
                ["AttachStdout"] = false,
                ["AttachStderr"] = false,
                ["ExposedPorts"] = exposed,
                ["Tty"] = c.Tty,
                ["OpenStdin"] = c.Interactive,
                ["StdinOnce"] = c.StdinOnce,
                ["Env"] = Array(env),
                ["Cmd"] = Array(cmd),
                ["Image"] = c.Image,
                ["Volumes"] = null,
                ["WorkingDir"] = c.WorkingDirectory,
                ["Entrypoint"] = entrypoint.Length == 0 ? null : Array(entrypoint),
                ["OnBuild"] = null,
                ["Labels"] = Object(labels),
                ["StopSignal"] = o.StopSignal ?? (image?.Config.StopSignal is { Length: > 0 } s ? s : "SIGTERM"),
                ["Healthcheck"] = HealthJson.Config(o.Healthcheck, image?.Config.Healthcheck),
            },
            ["NetworkSettings"] = new JsonObject
            {
                ["Bridge"] = "",
                ["SandboxID"] = "",
                ["HairpinMode"] = false,
                ["Ports"] = portMap,
                ["SandboxKey"] = "",
                ["Gateway"] = "",
                ["IPAddress"] = running ? c.IPAddress ?? "" : "",
                ["IPPrefixLen"] = 0,
                ["MacAddress"] = "",
                ["Networks"] = Networks(d),
            },
        };
    }

    /// <summary>One entry of GET /images/json.</summary>
    public static JsonObject ImageSummary(ContainerImage i, int containers) => WithVirtualSize(new()
    {
        ["Id"] = i.Id,
        ["ParentId"] = "",
        // Before 1.43 an untagged image listed the placeholders <none>:<none> and <none>@<none>; from 1.43, empty arrays.
        ["RepoTags"] = Array(i.RepoTags.Length == 0 && !ApiVersion.RequestedAtLeast(1, 43) ? ["<none>:<none>"] : i.RepoTags),
        ["RepoDigests"] = Array(i.RepoDigests.Length == 0 && !ApiVersion.RequestedAtLeast(1, 43) ? ["<none>@<none>"] : i.RepoDigests),
        ["Created"] = Unix(i.Created ?? i.Added),
        ["Size"] = i.Size,
        ["SharedSize"] = -1,
        ["Labels"] = Object(i.Config.Labels),
        ["Containers"] = containers,
    }, i.Size);

    /// <summary>VirtualSize (the same as Size) up to 1.43; 1.44 left it out.</summary>
    private static JsonObject WithVirtualSize(JsonObject image, long size)
    {
        if (!ApiVersion.RequestedAtLeast(1, 44)) image["VirtualSize"] = size;
        return image;
    }

    /// <summary>GET /images/{name}/json.</summary>
    public static JsonObject ImageInspect(ContainerImage i)
    {
        var exposed = new JsonObject();
        foreach (string p in i.Config.ExposedPorts) exposed[p] = new JsonObject();
        var volumes = new JsonObject();
        foreach (string v in i.Config.Volumes) volumes[v] = new JsonObject();
        var config = new JsonObject
        {
            ["Hostname"] = "",
            ["Domainname"] = "",
            ["User"] = i.Config.User,
            ["AttachStdin"] = false,
            ["AttachStdout"] = false,
            ["AttachStderr"] = false,
            ["ExposedPorts"] = exposed.Count == 0 ? null : exposed,
            ["Tty"] = false,
            ["OpenStdin"] = false,
            ["StdinOnce"] = false,
            ["Env"] = Array(i.Config.Env),
            ["Cmd"] = i.Config.Cmd.Length == 0 ? null : Array(i.Config.Cmd),
            ["Image"] = "",
            ["Volumes"] = volumes.Count == 0 ? null : volumes,
            ["WorkingDir"] = i.Config.WorkingDir,
            ["Entrypoint"] = i.Config.Entrypoint.Length == 0 ? null : Array(i.Config.Entrypoint),
            ["OnBuild"] = null,
            ["Labels"] = Object(i.Config.Labels),
        };
        if (i.Config.StopSignal.Length > 0) config["StopSignal"] = i.Config.StopSignal;
        return WithVirtualSize(new JsonObject
        {
            ["Id"] = i.Id,
            ["RepoTags"] = Array(i.RepoTags),
            ["RepoDigests"] = Array(i.RepoDigests),
            ["Parent"] = "",
            ["Comment"] = "",
            ["Created"] = Time(i.Created ?? i.Added),
            ["Container"] = "",
            ["DockerVersion"] = "",
            ["Author"] = "",
            ["Config"] = config,
            ["Architecture"] = i.Architecture,
            ["Variant"] = i.Variant,
            ["Os"] = i.Os,
            ["Size"] = i.Size,
            ["GraphDriver"] = new JsonObject { ["Name"] = "overlay", ["Data"] = null },
            ["RootFS"] = new JsonObject { ["Type"] = "layers", ["Layers"] = Array(i.Layers) },
            ["Metadata"] = new JsonObject { ["LastTagTime"] = ZeroTime },
        }, i.Size);
    }
}
