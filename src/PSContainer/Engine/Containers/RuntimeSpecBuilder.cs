using System.Globalization;
using System.Text.Json.Nodes;

namespace PSContainer.Engine.Containers;

/// <summary>A user as the container's /etc/passwd and /etc/group resolve it.</summary>
public sealed record ResolvedUser(uint Uid, uint Gid, uint[] AdditionalGids, string Home);

/// <summary>Paths and facts a spec needs that are decided at start time.</summary>
public sealed record SpecContext(string RootfsPath, string? NetworkNamespacePath, string HostnameFile, string HostsFile, string ResolvConfFile, string CgroupsPath,
    string? VolumesDir = null);

/// <summary>
/// Builds the OCI runtime-spec config.json for a container with Docker's defaults: its namespaces, mounts, masked
/// and read-only paths, the default capability set, the device allow-list and the resource limits (seccomp and
/// no_new_privs come from ContainerSecurity).
/// Any OCI runtime (ours or runc) runs the result.
/// </summary>
public static partial class RuntimeSpecBuilder
{
    /// <summary>Docker's default capabilities (moby oci/caps/defaults.go).</summary>
    public static readonly string[] DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static readonly string[] MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    public static readonly string[] ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>
    /// Open files: containerd's default of 1048576, but never more than this process may grant (raising a hard
    /// limit needs CAP_SYS_RESOURCE, which restricted hosts do not give even to root).
    /// </summary>
    public static ulong NoFileLimit => Math.Min(1048576UL, PSContainer.Native.Sys.HardLimit(PSContainer.Native.Sys.RLIMIT_NOFILE));

    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>docker's rule: -Entrypoint replaces the image's entrypoint and drops its Cmd; -Command replaces Cmd.</summary>
    public static string[] ResolveCommand(string[] imageEntrypoint, string[] imageCmd, string[]? entrypoint, string[]? command)
    {
        string[] ep = entrypoint ?? imageEntrypoint;
        string[] cmd = command ?? (entrypoint is not null ? [] : imageCmd);
        return ep.Concat(cmd).ToArray();
    }

    /// <summary>The image's Env, then the user's values over it, PATH defaulted, HOSTNAME set and HOME from the user's
    /// passwd entry unless given, as docker does.</summary>
    public static string[] ResolveEnvironment(IEnumerable<string> imageEnv, IReadOnlyDictionary<string, string> overrides, string hostname, string home = "/")
    {
        var ordered = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        void Set(string key, string value)
        {
            if (!values.ContainsKey(key)) ordered.Add(key);
            values[key] = value;
        }
        Set("PATH", DefaultPath);
        Set("HOSTNAME", hostname);
        foreach (string entry in imageEnv)
        {
            int eq = entry.IndexOf('=');
            if (eq > 0) Set(entry[..eq], entry[(eq + 1)..]);
        }
        foreach (var (k, v) in overrides) Set(k, v);
        if (!values.ContainsKey("HOME")) Set("HOME", home);
        return ordered.Select(k => k + "=" + values[k]).ToArray();
    }

    public static JsonObject Build(ContainerRecord container, string[] env, ResolvedUser user, string workingDirectory, string hostname, SpecContext context)
    {
        var o = container.Options;
        if (o.Tty) env = ContainerOptions.WithTerminalType(env);
        var caps = new JsonArray(DefaultCapabilities.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray());
        var mounts = new JsonArray
        {
            Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
            Mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"),
            Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=67108864"),
            Mount("/etc/resolv.conf", "bind", context.ResolvConfFile, "rbind", "rprivate"),
            Mount("/etc/hostname", "bind", context.HostnameFile, "rbind", "rprivate"),
            Mount("/etc/hosts", "bind", context.HostsFile, "rbind", "rprivate"),
        };
        foreach (var m in Volumes.VolumeSpec.All(o))
        {
            if (m.Type == "tmpfs") mounts.Add(Mount(m.Destination, "tmpfs", "tmpfs", m.Options.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            else
            {
                // A volume is a bind of its _data directory (docker's local driver).
                string source = m.Type == "volume" ? Path.Combine(context.VolumesDir ?? throw new InvalidOperationException("no volumes directory"), m.Source, "_data") : m.Source;
                mounts.Add(Mount(m.Destination, "bind", source, m.ReadOnly ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate"]));
            }
        }

        var namespaces = new JsonArray { Ns("pid"), Ns("ipc"), Ns("uts"), Ns("mount"), Ns("cgroup") };
        if (o.Network != "host") namespaces.Add(context.NetworkNamespacePath is null ? Ns("network") : Ns("network", context.NetworkNamespacePath));

        var resources = new JsonObject { ["devices"] = DefaultDeviceRules() };
        var limits = EffectiveLimits(o);
        if (limits.Memory is not null || limits.MemorySwap is not null)
        {
            var memory = new JsonObject();
            if (limits.Memory is long mem) memory["limit"] = mem;
            if (limits.MemorySwap is long swap) memory["swap"] = swap;
            resources["memory"] = memory;
        }
        if (limits.Cpus is not null || limits.CpuShares is not null)
        {
            var cpu = new JsonObject();
            if (limits.CpuShares is long shares) cpu["shares"] = shares;
            if (limits.Cpus is double cpus)
            {
                cpu["quota"] = (long)Math.Round(cpus * 100000);
                cpu["period"] = 100000;
            }
            resources["cpu"] = cpu;
        }
        if (limits.PidsLimit is long pids) resources["pids"] = new JsonObject { ["limit"] = pids };

        return new JsonObject
        {
            ["ociVersion"] = "1.1.0",
            ["process"] = new JsonObject
            {
                ["terminal"] = o.Tty,
                ["user"] = new JsonObject
                {
                    ["uid"] = user.Uid,
                    ["gid"] = user.Gid,
                    ["additionalGids"] = new JsonArray(user.AdditionalGids.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
                },
                ["args"] = new JsonArray(container.Command.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
                ["env"] = new JsonArray(env.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray()),
                ["cwd"] = workingDirectory,
                ["capabilities"] = new JsonObject
                {
                    ["bounding"] = caps.DeepClone(),
                    ["effective"] = caps.DeepClone(),
                    ["permitted"] = caps.DeepClone(),
                },
                ["rlimits"] = new JsonArray { new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = NoFileLimit, ["soft"] = NoFileLimit } },
                // Docker's default: setuid binaries and file capabilities work (ContainerSecurity sets it when asked).
                ["noNewPrivileges"] = false,
            },
            ["root"] = new JsonObject { ["path"] = context.RootfsPath, ["readonly"] = o.ReadOnly },
            ["hostname"] = hostname,
            ["mounts"] = mounts,
            ["annotations"] = new JsonObject
            {
                ["io.pscontainer.name"] = container.Name,
                ["io.pscontainer.image"] = container.Image,
            },
            ["linux"] = new JsonObject
            {
                ["resources"] = resources,
                ["cgroupsPath"] = context.CgroupsPath,
                ["namespaces"] = namespaces,
                ["rootfsPropagation"] = "rprivate",
                ["maskedPaths"] = new JsonArray(MaskedPaths.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
                ["readonlyPaths"] = new JsonArray(ReadonlyPaths.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
            },
        };
    }

    /// <summary>The limits a container gets: docker gives memory+swap = twice the memory when only memory is set.</summary>
    public static ContainerLimits EffectiveLimits(ContainerOptions o)
    {
        long? swap = o.MemorySwap switch
        {
            -1 => null,
            long s => s,
            null => o.Memory is long m ? 2 * m : null,
        };
        return new ContainerLimits(o.Memory, swap, o.Cpus, o.CpuShares, o.PidsLimit);
    }

    /// <summary>-Volume's forms: binds, named volumes and anonymous volumes (Volumes.VolumeSpec).</summary>
    public static IReadOnlyList<ContainerMount> ParseVolumes(IEnumerable<string> volumes) => Volumes.VolumeSpec.ParseVolumeArguments(volumes);

    public static IReadOnlyList<ContainerMount> ParseTmpfs(IEnumerable<string> tmpfs)
    {
        var result = new List<ContainerMount>();
        foreach (string t in tmpfs)
        {
            int colon = t.IndexOf(':');
            string dest = colon < 0 ? t : t[..colon];
            string options = colon < 0 ? "" : t[(colon + 1)..];
            if (!dest.StartsWith('/') || dest == "/")
                throw new EngineException("InvalidTmpfs", ErrorKind.InvalidArgument, t, $"'{t}' is not a valid tmpfs mount: use /container/path[:options].");
            // docker's default tmpfs options, then the user's.
            string all = "noexec,nosuid,nodev" + (options.Length > 0 ? "," + options : "");
            result.Add(new ContainerMount("tmpfs", "tmpfs", dest, all.Split(',').Contains("ro"), all));
        }
        return result;
    }

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = new JsonArray(options.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray()),
    };

    private static JsonObject Ns(string type, string? path = null)
    {
        var o = new JsonObject { ["type"] = type };
        if (path is not null) o["path"] = path;
        return o;
    }

    /// <summary>Deny every device, then allow docker's default set (moby oci/devices_linux.go defaults).</summary>
    private static JsonArray DefaultDeviceRules()
    {
        var rules = new JsonArray { new JsonObject { ["allow"] = false, ["access"] = "rwm" } };
        void Allow(string type, long? major, long? minor, string access)
        {
            var r = new JsonObject { ["allow"] = true, ["type"] = type, ["access"] = access };
            if (major is long ma) r["major"] = ma;
            if (minor is long mi) r["minor"] = mi;
            rules.Add(r);
        }
        Allow("c", null, null, "m");
        Allow("b", null, null, "m");
        Allow("c", 1, 3, "rwm");   // null
        Allow("c", 1, 8, "rwm");   // random
        Allow("c", 1, 7, "rwm");   // full
        Allow("c", 5, 0, "rwm");   // tty
        Allow("c", 1, 5, "rwm");   // zero
        Allow("c", 1, 9, "rwm");   // urandom
        Allow("c", 5, 1, "rwm");   // console
        Allow("c", 136, null, "rwm"); // pts
        Allow("c", 5, 2, "rwm");   // ptmx
        Allow("c", 10, 200, "rwm"); // tun
        return rules;
    }
}
