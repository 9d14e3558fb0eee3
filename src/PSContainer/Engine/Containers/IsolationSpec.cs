using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// docker run's isolation and resource options (-Privileged, -CapAdd/-CapDrop, -Device, -Sysctl, -Ulimit, -ShmSize,
/// -Pid/-Ipc/-Uts, cpusets, memory reservation and swappiness, the OOM killer, -OomScoreAdj, -BlkioWeight, -Init):
/// checked when a container is created, and written over the spec <see cref="RuntimeSpecBuilder"/> made when it
/// starts. Anything the runtime cannot honour fails there, never silently.
/// </summary>
public static partial class IsolationSpec
{
    /// <summary>Every capability Linux defines, by number (include/uapi/linux/capability.h).</summary>
    public static readonly string[] AllCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    private static readonly string[] UlimitNames =
        ["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

    /// <summary>Sysctls of the IPC namespace (docker's list), besides fs.mqueue.*.</summary>
    private static readonly HashSet<string> IpcSysctls =
        ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];

    [GeneratedRegex(@"^\d+(-\d+)?(,\d+(-\d+)?)*$")]
    private static partial Regex CpuListPattern();

    /// <summary>The capabilities this process may hand on (its bounding set): a container cannot get more.</summary>
    public static IReadOnlyList<string> GrantableCapabilities()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
        ulong mask = line is null ? ulong.MaxValue : ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return AllCapabilities.Where((_, i) => (mask & (1UL << i)) != 0).ToList();
    }

    /// <summary>CAP_NET_ADMIN for NET_ADMIN, net_admin or CAP_NET_ADMIN; ALL stays ALL.</summary>
    public static string NormalizeCapability(string name)
    {
        string upper = name.Trim().ToUpperInvariant();
        if (upper == "ALL") return upper;
        string full = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        if (!AllCapabilities.Contains(full))
            throw new EngineException("InvalidCapability", ErrorKind.InvalidArgument, name, $"Unknown capability '{name}' (for example NET_ADMIN, SYS_PTRACE or ALL).");
        return full;
    }

    /// <summary>The capability set: docker's defaults, minus -CapDrop (ALL: none), plus -CapAdd (ALL: every one this host grants).</summary>
    public static List<string> EffectiveCapabilities(ContainerOptions o)
    {
        var grantable = GrantableCapabilities();
        if (o.Privileged) return grantable.ToList();
        var drop = o.CapDrop.Select(NormalizeCapability).ToHashSet();
        var add = o.CapAdd.Select(NormalizeCapability).ToHashSet();
        var caps = drop.Contains("ALL") ? new List<string>() : RuntimeSpecBuilder.DefaultCapabilities.Where(c => !drop.Contains(c)).ToList();
        foreach (string c in add.Contains("ALL") ? grantable : (IEnumerable<string>)add.Order(StringComparer.Ordinal))
        {
            if (!grantable.Contains(c))
                throw new EngineException("CapabilityNotGrantable", ErrorKind.PermissionDenied, c,
                    $"{c} cannot be given to a container: this process does not hold it in its bounding set.");
            if (!caps.Contains(c)) caps.Add(c);
        }
        return caps;
    }

    /// <summary>Everything that can be checked before the container exists: names, ranges, formats, host devices.</summary>
    public static void Validate(ContainerOptions o)
    {
        EffectiveCapabilities(o);
        foreach (string d in o.Devices) ParseDevice(d);
        foreach (var (key, _) in o.Sysctls) ValidateSysctl(key, o);
        foreach (string u in o.Ulimits) ParseUlimit(u);
        if (o.ShmSize is long shm && shm <= 0)
            throw new EngineException("InvalidShmSize", ErrorKind.InvalidArgument, shm, "-ShmSize must be more than 0.");
        ValidateMode("Pid", o.PidMode, ["host"], allowContainer: true);
        ValidateMode("Ipc", o.IpcMode, ["host", "private", "shareable", "none"], allowContainer: true);
        ValidateMode("Uts", o.UtsMode, ["host"], allowContainer: false);
        if (o.UtsMode == "host" && o.Hostname is not null)
            throw new EngineException("InvalidUtsMode", ErrorKind.InvalidArgument, o.Hostname, "-Hostname cannot be given with -Uts host: the container uses the host's name.");
        ValidateCpuList("CpusetCpus", o.CpusetCpus, Environment.ProcessorCount);
        ValidateCpuList("CpusetMems", o.CpusetMems, OnlineNodes());
        if (o.MemoryReservation is long res && res < 0)
            throw new EngineException("InvalidMemoryReservation", ErrorKind.InvalidArgument, res, "-MemoryReservation cannot be negative.");
        if (o.MemoryReservation is long r && o.Memory is long m && r > m)
            throw new EngineException("InvalidMemoryReservation", ErrorKind.InvalidArgument, r, "-MemoryReservation must be less than -Memory (it is the soft limit below the hard one).");
        if (o.MemorySwappiness is long sw && sw is < 0 or > 100)
            throw new EngineException("InvalidMemorySwappiness", ErrorKind.InvalidArgument, sw, "-MemorySwappiness must be within 0..100.");
        if (o.OomScoreAdj is int adj && adj is < -1000 or > 1000)
            throw new EngineException("InvalidOomScoreAdj", ErrorKind.InvalidArgument, adj, "-OomScoreAdj must be within -1000..1000.");
        if (o.BlkioWeight is int w && w != 0 && w is < 10 or > 1000)
            throw new EngineException("InvalidBlkioWeight", ErrorKind.InvalidArgument, w, "-BlkioWeight must be within 10..1000 (0 leaves it unset).");
        if (o.Init && !File.Exists(InitBinary))
            throw new EngineException("InitNotInstalled", ErrorKind.NotInstalled, InitBinary, $"The init for -Init is missing: {InitBinary}. Rebuild the module.");
    }

    /// <summary>psc-init, the static init -Init runs as pid 1, beside psc-runtime.</summary>
    public static string InitBinary => Path.Combine(ContainerManager.NativeDirectory, "psc-init");

    /// <summary>Where the init is mounted in the container: docker's path, so scripts that look for it find it.</summary>
    public const string InitPathInContainer = "/sbin/docker-init";

    private static void ValidateMode(string what, string? mode, string[] allowed, bool allowContainer)
    {
        if (mode is null || allowed.Contains(mode)) return;
        if (allowContainer && mode.StartsWith("container:", StringComparison.Ordinal) && mode.Length > "container:".Length) return;
        string forms = string.Join(", ", allowed) + (allowContainer ? ", container:NAME" : "");
        throw new EngineException($"Invalid{what}Mode", ErrorKind.InvalidArgument, mode, $"-{what} '{mode}' is not valid: use {forms}.");
    }

    private static int OnlineNodes()
    {
        const string online = "/sys/devices/system/node/online";
        if (!File.Exists(online)) return 1;
        string text = File.ReadAllText(online).Trim();
        return text.Split(',').Select(r => int.Parse(r.Split('-')[^1], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max() + 1;
    }

    private static void ValidateCpuList(string parameter, string? list, int available)
    {
        if (list is null) return;
        if (!CpuListPattern().IsMatch(list))
            throw new EngineException("InvalidCpuset", ErrorKind.InvalidArgument, list, $"-{parameter} '{list}' is not a list such as 0-2,4.");
        foreach (string part in list.Split(','))
        {
            int[] ends = part.Split('-').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            if (ends[^1] < ends[0] || ends[^1] >= available)
                throw new EngineException("InvalidCpuset", ErrorKind.InvalidArgument, list,
                    $"-{parameter} '{list}' asks for {part}, but this host has 0-{available - 1}.");
        }
    }

    private static void ValidateSysctl(string key, ContainerOptions o)
    {
        bool ipc = IpcSysctls.Contains(key) || key.StartsWith("fs.mqueue.", StringComparison.Ordinal);
        bool net = key.StartsWith("net.", StringComparison.Ordinal);
        bool uts = key == "kernel.domainname";
        if (!ipc && !net && !uts)
            throw new EngineException("InvalidSysctl", ErrorKind.InvalidArgument, key,
                $"Sysctl '{key}' is not namespaced: a container may set only net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and kernel.domainname.");
        if (ipc && (o.IpcMode == "host" || o.IpcMode?.StartsWith("container:", StringComparison.Ordinal) == true))
            throw new EngineException("InvalidSysctl", ErrorKind.InvalidArgument, key, $"Sysctl '{key}' would change the IPC namespace of -Ipc {o.IpcMode}, not the container's own.");
        if (net && (o.Network == "host" || o.Network.StartsWith("container:", StringComparison.Ordinal)))
            throw new EngineException("InvalidSysctl", ErrorKind.InvalidArgument, key, $"Sysctl '{key}' would change the network namespace of -Network {o.Network}, not the container's own.");
        if (uts && o.UtsMode == "host")
            throw new EngineException("InvalidSysctl", ErrorKind.InvalidArgument, key, $"Sysctl '{key}' would change the host's UTS namespace (-Uts host).");
    }

    /// <summary>name=soft[:hard] → (RLIMIT_NAME, soft, hard); -1 is unlimited; no hard means hard = soft, as docker.</summary>
    public static (string Type, ulong Soft, ulong Hard) ParseUlimit(string spec)
    {
        int eq = spec.IndexOf('=');
        string name = eq > 0 ? spec[..eq].Trim().ToLowerInvariant() : "";
        if (!UlimitNames.Contains(name))
            throw new EngineException("InvalidUlimit", ErrorKind.InvalidArgument, spec, $"'{spec}' is not a ulimit: use name=soft[:hard] with a name of {string.Join(", ", UlimitNames)}.");
        string[] values = spec[(eq + 1)..].Split(':');
        if (values.Length > 2 || !values.All(v => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x) && x >= -1))
            throw new EngineException("InvalidUlimit", ErrorKind.InvalidArgument, spec, $"'{spec}' must give soft[:hard] as numbers (-1 for unlimited).");
        ulong Value(string v) => v == "-1" ? ulong.MaxValue : ulong.Parse(v, CultureInfo.InvariantCulture);
        ulong soft = Value(values[0]), hard = values.Length == 2 ? Value(values[1]) : soft;
        if (soft > hard)
            throw new EngineException("InvalidUlimit", ErrorKind.InvalidArgument, spec, $"'{spec}': the soft limit cannot be more than the hard limit.");
        return ("RLIMIT_" + name.ToUpperInvariant(), soft, hard);
    }

    /// <summary>/dev/host[:/dev/container][:rwm] → the host node, the path in the container and the access.</summary>
    public static (DeviceNode Node, string ContainerPath, string Access) ParseDevice(string spec)
    {
        string[] parts = spec.Split(':');
        string host = parts[0], inside = host, access = "rwm";
        if (parts.Length == 3) (inside, access) = (parts[1], parts[2]);
        else if (parts.Length == 2) { if (IsAccess(parts[1])) access = parts[1]; else inside = parts[1]; }
        else if (parts.Length != 1) throw InvalidDevice(spec, "use /dev/host[:/dev/container][:rwm]");
        if (!host.StartsWith('/') || !inside.StartsWith('/')) throw InvalidDevice(spec, "both paths must be absolute");
        if (!IsAccess(access)) throw InvalidDevice(spec, $"'{access}' is not an access list (r, w and m)");
        DeviceNode? node;
        try
        {
            node = DeviceNode.Stat(host);
        }
        catch (NativeException e)
        {
            throw InvalidDevice(spec, $"{host}: {e.Message}");
        }
        return (node ?? throw InvalidDevice(spec, $"{host} is not a character or block device"), inside, access);
    }

    private static bool IsAccess(string s) => s.Length is > 0 and <= 3 && s.All(c => c is 'r' or 'w' or 'm') && s.Distinct().Count() == s.Length;

    private static EngineException InvalidDevice(string spec, string why) =>
        new("InvalidDevice", ErrorKind.InvalidArgument, spec, $"-Device '{spec}' is not valid: {why}.");
}
