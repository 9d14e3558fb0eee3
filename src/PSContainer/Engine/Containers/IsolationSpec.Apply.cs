using System.Text.Json.Nodes;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// A running container another one joins (-Pid/-Ipc container:NAME): its options, and <paramref name="NamespacePath"/>,
/// which gives a path to one of its namespaces (by type: "pid", "ipc") that stays that container's namespace until the
/// runtime has joined it, even if the container exits and its pid is reused meanwhile.
/// </summary>
public sealed record JoinTarget(string Name, ContainerOptions Options, string ShmPath, Func<string, string> NamespacePath);

public static partial class IsolationSpec
{
    /// <summary>What docker --privileged leaves out of /dev (runc's HostDevices skips these).</summary>
    private static readonly HashSet<string> NotHostDevices =
        ["/dev/pts", "/dev/shm", "/dev/fd", "/dev/mqueue", "/dev/.lxc", "/dev/.lxd-mounts", "/dev/.udev", "/dev/console"];

    /// <summary>
    /// Writes the options over a spec from <see cref="RuntimeSpecBuilder.Build"/>. <paramref name="join"/> resolves
    /// container:NAME to a running container (or throws); <paramref name="shmPath"/> is the host-side /dev/shm of a
    /// shareable container (see <see cref="ShmOnHost"/>).
    /// </summary>
    public static void Apply(JsonObject spec, ContainerOptions o, Func<string, JoinTarget> join, string shmPath, bool userNamespace = false)
    {
        var process = spec["process"]!.AsObject();
        var linux = spec["linux"]!.AsObject();
        var mounts = spec["mounts"]!.AsArray();
        var resources = linux["resources"]!.AsObject();

        if (o.Privileged || o.CapAdd.Count > 0 || o.CapDrop.Count > 0)
        {
            var caps = EffectiveCapabilities(o);
            var capabilities = process["capabilities"]!.AsObject();
            foreach (string set in new[] { "bounding", "effective", "permitted" }) capabilities[set] = Strings(caps);
        }
        if (o.Privileged) ApplyPrivileged(linux, mounts, resources);

        foreach (string d in o.Devices)
        {
            var (node, inside, access) = ParseDevice(d);
            // In a user namespace mknod is refused and the runtime binds the node of the same path from the host:
            // a device given under another name is bound from its host path here instead.
            if (userNamespace && inside != node.Path)
                mounts.Add(new JsonObject
                {
                    ["destination"] = inside, ["type"] = "bind", ["source"] = node.Path, ["options"] = Strings(["bind", "rprivate"]),
                });
            else
                AddDevice(linux, node with { Path = inside });
            resources["devices"]!.AsArray().Add(new JsonObject
            {
                ["allow"] = true, ["type"] = node.Type.ToString(), ["major"] = node.Major, ["minor"] = node.Minor, ["access"] = access,
            });
        }

        if (o.Sysctls.Count > 0)
        {
            var sysctl = new JsonObject();
            foreach (var (k, v) in o.Sysctls) sysctl[k] = v;
            linux["sysctl"] = sysctl;
        }

        foreach (string u in o.Ulimits)
        {
            var (type, soft, hard) = ParseUlimit(u);
            var rlimits = process["rlimits"]!.AsArray();
            foreach (var old in rlimits.Where(r => (string?)r!["type"] == type).ToList()) rlimits.Remove(old);
            rlimits.Add(new JsonObject { ["type"] = type, ["soft"] = soft, ["hard"] = hard });
        }

        var shm = mounts.FirstOrDefault(m => (string?)m!["destination"] == "/dev/shm")?.AsObject();
        if (shm is not null && o.ShmSize is long size)
            shm["options"] = Strings(Options(shm).Where(x => !x.StartsWith("size=", StringComparison.Ordinal)).Append($"size={size}"));

        if (shm is not null && ShmOnHost(o)) BindShm(shm, shmPath);
        ApplyNamespaceModes(spec, linux, mounts, shm, o, join);
        ApplyResources(resources, o);
        if (o.OomScoreAdj is int adj) process["oomScoreAdj"] = adj;

        if (o.Init)
        {
            mounts.Add(new JsonObject
            {
                ["destination"] = InitPathInContainer, ["type"] = "bind", ["source"] = InitBinary,
                ["options"] = Strings(["rbind", "rprivate", "ro"]),
            });
            var args = process["args"]!.AsArray().Select(a => (string)a!).ToList();
            process["args"] = Strings(new[] { InitPathInContainer, "--" }.Concat(args));
        }
    }

    private static void ApplyPrivileged(JsonObject linux, JsonArray mounts, JsonObject resources)
    {
        // /sys and the cgroup tree writable, nothing masked or read-only under /proc, every device, no filter.
        foreach (var m in mounts.Select(m => m!.AsObject()).Where(m => (string?)m["destination"] is "/sys" or "/sys/fs/cgroup"))
            m["options"] = Strings(Options(m).Where(x => x != "ro"));
        linux["maskedPaths"] = new JsonArray();
        linux["readonlyPaths"] = new JsonArray();
        // No seccomp filter or AppArmor profile either: ContainerSecurity.Of says unconfined for a privileged container.
        resources["devices"] = new JsonArray { new JsonObject { ["allow"] = true, ["access"] = "rwm" } };
        foreach (var node in DeviceNode.Under("/dev", NotHostDevices)) AddDevice(linux, node);
    }

    private static void AddDevice(JsonObject linux, DeviceNode node)
    {
        if (linux["devices"] is not JsonArray devices) linux["devices"] = devices = new JsonArray();
        foreach (var old in devices.Where(d => (string?)d!["path"] == node.Path).ToList()) devices.Remove(old);
        devices.Add(new JsonObject
        {
            ["path"] = node.Path, ["type"] = node.Type.ToString(), ["major"] = node.Major, ["minor"] = node.Minor,
            ["fileMode"] = node.FileMode, ["uid"] = node.Uid, ["gid"] = node.Gid,
        });
    }

    private static void ApplyNamespaceModes(JsonObject spec, JsonObject linux, JsonArray mounts, JsonObject? shm, ContainerOptions o, Func<string, JoinTarget> join)
    {
        var namespaces = linux["namespaces"]!.AsArray();
        JsonObject? Ns(string type) => namespaces.Select(n => n!.AsObject()).FirstOrDefault(n => (string?)n["type"] == type);
        void Host(string type)
        {
            if (Ns(type) is { } n) namespaces.Remove(n);
        }

        if (o.PidMode == "host") Host("pid");
        else if (o.PidMode?.StartsWith("container:", StringComparison.Ordinal) == true)
        {
            var target = join(o.PidMode["container:".Length..]);
            Ns("pid")!["path"] = target.NamespacePath("pid");
        }

        if (o.IpcMode == "host")
        {
            // The host's System V IPC and its POSIX shared memory, as docker --ipc host gives both.
            Host("ipc");
            if (shm is not null) BindShm(shm, "/dev/shm");
        }
        else if (o.IpcMode == "none" && shm is not null) mounts.Remove(shm);
        else if (o.IpcMode?.StartsWith("container:", StringComparison.Ordinal) == true)
        {
            var target = join(o.IpcMode["container:".Length..]);
            if (target.Options.IpcMode is not ("shareable" or "host"))
                throw new EngineException("IpcNotShareable", ErrorKind.InvalidOperation, target.Name,
                    $"Cannot join the IPC namespace of container {target.Name}: it was not made with -Ipc shareable.");
            if (target.Options.IpcMode == "host") Host("ipc");
            else Ns("ipc")!["path"] = target.NamespacePath("ipc");
            // POSIX shared memory lives in /dev/shm: the donor's, as docker shares it.
            if (shm is not null) BindShm(shm, target.Options.IpcMode == "host" ? "/dev/shm" : target.ShmPath);
        }

        if (o.UtsMode == "host")
        {
            Host("uts");
            spec.Remove("hostname");   // a runtime would otherwise set the host's name
        }
    }

    /// <summary>
    /// A shareable container's /dev/shm is a tmpfs the engine mounts on the host (under the container's directory,
    /// removed with the run), since a mount inside one container's mount namespace cannot be bound into another's.
    /// </summary>
    public static bool ShmOnHost(ContainerOptions o) => o.IpcMode == "shareable";

    /// <summary>The tmpfs options of /dev/shm: docker's, with -ShmSize or its default 64 MiB.</summary>
    public static string ShmMountData(ContainerOptions o) => $"mode=1777,size={o.ShmSize ?? 64L * 1024 * 1024}";

    private static void BindShm(JsonObject shm, string source)
    {
        shm["type"] = "bind";
        shm["source"] = source;
        shm["options"] = Strings(["rbind", "rprivate", "nosuid", "noexec", "nodev"]);
    }

    private static void ApplyResources(JsonObject resources, ContainerOptions o)
    {
        JsonObject Section(string name) => resources[name] as JsonObject ?? (JsonObject)(resources[name] = new JsonObject());
        if (o.MemoryReservation is long reservation) Section("memory")["reservation"] = reservation;
        if (o.MemorySwappiness is long swappiness) Section("memory")["swappiness"] = swappiness;
        if (o.OomKillDisable) Section("memory")["disableOOMKiller"] = true;
        if (o.CpusetCpus is { } cpus) Section("cpu")["cpus"] = cpus;
        if (o.CpusetMems is { } mems) Section("cpu")["mems"] = mems;
        if (o.BlkioWeight is int weight and > 0) Section("blockIO")["weight"] = weight;
    }

    private static IEnumerable<string> Options(JsonObject mount) =>
        mount["options"]?.AsArray().Select(x => (string)x!) ?? [];

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
}
