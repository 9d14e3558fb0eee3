using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace PSContainer.Engine.Security;

/// <summary>
/// A seccomp profile in Docker's format (what <c>docker run --security-opt seccomp=FILE</c> reads and moby's default
/// profile is written in): the OCI <c>linux.seccomp</c> fields plus per-rule <c>includes</c>/<c>excludes</c> by
/// capability and architecture and an <c>archMap</c>. <see cref="ToSpec"/> resolves it for one container.
/// An OCI-format profile (<c>architectures</c>, no conditions) is a valid profile of this kind too.
/// </summary>
public sealed class SeccompProfile
{
    public string DefaultAction { get; set; } = "";
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<SeccompArchMap>? ArchMap { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<SeccompSyscall> Syscalls { get; set; } = [];

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static readonly string[] Actions =
    [
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", "SCMP_ACT_NOTIFY",
    ];

    public static readonly string[] Operators =
        ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];

    public static readonly string[] KnownFlags =
        ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"];

    /// <summary>
    /// Reads and checks a profile: JSON of the right shape, known actions, operators and flags, an errnoRet only where
    /// it means something, and for a seccomp agent (<c>SCMP_ACT_NOTIFY</c> rules) an absolute <c>listenerPath</c>, the
    /// agent's unix socket on the host, which the runtime connects to at creation. <paramref name="source"/> names it in errors.
    /// </summary>
    public static SeccompProfile Parse(string json, string source)
    {
        SeccompProfile? p;
        try
        {
            p = JsonSerializer.Deserialize<SeccompProfile>(json, Json);
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"it is not a seccomp profile: {e.Message}");
        }
        if (p is null) throw Invalid(source, "it is empty (null).");
        if (!Actions.Contains(p.DefaultAction)) throw Invalid(source, $"defaultAction \"{p.DefaultAction}\" is not a seccomp action ({string.Join(", ", Actions)}).");
        if (p.DefaultErrnoRet is not null && p.DefaultAction is not ("SCMP_ACT_ERRNO" or "SCMP_ACT_TRACE"))
            throw Invalid(source, "defaultErrnoRet is only valid with defaultAction SCMP_ACT_ERRNO or SCMP_ACT_TRACE.");
        CheckAgent(p, source);
        foreach (string f in p.Flags ?? [])
            if (!KnownFlags.Contains(f)) throw Invalid(source, $"flag \"{f}\" is not one of {string.Join(", ", KnownFlags)}.");
        foreach (string a in (p.Architectures ?? []).Concat((p.ArchMap ?? []).SelectMany(m => (m.SubArchitectures ?? []).Append(m.Architecture))))
            if (!a.StartsWith("SCMP_ARCH_", StringComparison.Ordinal)) throw Invalid(source, $"architecture \"{a}\" is not an SCMP_ARCH_ name.");
        foreach (var s in p.Syscalls)
        {
            string what = s.Name ?? string.Join(",", s.Names ?? []);
            if (string.IsNullOrEmpty(what)) throw Invalid(source, "a syscalls entry names no syscall (names).");
            if (!Actions.Contains(s.Action)) throw Invalid(source, $"the rule for {what} has action \"{s.Action}\", which is not a seccomp action.");
            if (s.ErrnoRet is not null && s.Action is not ("SCMP_ACT_ERRNO" or "SCMP_ACT_TRACE"))
                throw Invalid(source, $"the rule for {what} has errnoRet with action {s.Action}; it is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE.");
            foreach (var a in s.Args ?? [])
            {
                if (!Operators.Contains(a.Op)) throw Invalid(source, $"the rule for {what} has operator \"{a.Op}\", which is not one of {string.Join(", ", Operators)}.");
                if (a.Index > 5) throw Invalid(source, $"the rule for {what} compares argument {a.Index}; a syscall has arguments 0 to 5.");
            }
        }
        return p;
    }

    // What the runtimes require of a profile for a seccomp agent (the OCI spec's listenerPath, listenerMetadata).
    private static void CheckAgent(SeccompProfile p, string source)
    {
        if (p.DefaultAction == "SCMP_ACT_NOTIFY")
            throw Invalid(source, "SCMP_ACT_NOTIFY cannot be the default action (the runtime's own last calls would wait for the agent); use it in syscalls rules.");
        if (!string.IsNullOrEmpty(p.ListenerMetadata) && string.IsNullOrEmpty(p.ListenerPath))
            throw Invalid(source, "listenerMetadata is set without listenerPath.");
        if (p.Syscalls.Any(s => s.Action == "SCMP_ACT_NOTIFY") && string.IsNullOrEmpty(p.ListenerPath))
            throw Invalid(source, "SCMP_ACT_NOTIFY rules need listenerPath, the unix socket of the seccomp agent that answers them.");
        if (!string.IsNullOrEmpty(p.ListenerPath) && !Path.IsPathRooted(p.ListenerPath))
            throw Invalid(source, $"listenerPath '{p.ListenerPath}' must be an absolute path on the host.");
    }

    private static EngineException Invalid(string source, string why) =>
        new("InvalidSeccompProfile", ErrorKind.InvalidArgument, source, $"Seccomp profile {source}: {why}");

    /// <summary>
    /// The OCI <c>linux.seccomp</c> object for a container with these bounding capabilities on this architecture, as
    /// moby resolves a profile: a rule whose <c>includes</c> the container does not meet, or whose <c>excludes</c> it
    /// meets, is left out; <c>archMap</c> gives the native architecture and its sub-architectures.
    /// </summary>
    public JsonObject ToSpec(IReadOnlyCollection<string> capabilities, SeccompArch arch)
    {
        var arches = new JsonArray();
        if (Architectures is { Count: > 0 })
            foreach (string a in Architectures) arches.Add(a);
        else
            foreach (var m in ArchMap ?? [])
                if (m.Architecture == arch.Native)
                {
                    arches.Add(m.Architecture);
                    foreach (string s in m.SubArchitectures ?? []) arches.Add(s);
                }
        var syscalls = new JsonArray();
        foreach (var s in Syscalls)
        {
            if (!s.Applies(capabilities, arch)) continue;
            var rule = new JsonObject
            {
                ["names"] = new JsonArray((s.Name is null ? s.Names ?? [] : [s.Name]).Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
                ["action"] = s.Action,
            };
            if (s.ErrnoRet is uint e) rule["errnoRet"] = e;
            if (s.Args is { Count: > 0 })
                rule["args"] = new JsonArray(s.Args.Select(a => (JsonNode)new JsonObject
                {
                    ["index"] = a.Index, ["value"] = a.Value, ["valueTwo"] = a.ValueTwo, ["op"] = a.Op,
                }).ToArray());
            syscalls.Add(rule);
        }
        var o = new JsonObject { ["defaultAction"] = DefaultAction };
        if (DefaultErrnoRet is uint d) o["defaultErrnoRet"] = d;
        o["architectures"] = arches;
        if (Flags is { Count: > 0 }) o["flags"] = new JsonArray(Flags.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray());
        if (!string.IsNullOrEmpty(ListenerPath)) o["listenerPath"] = ListenerPath;
        if (!string.IsNullOrEmpty(ListenerMetadata)) o["listenerMetadata"] = ListenerMetadata;
        o["syscalls"] = syscalls;
        return o;
    }
}

public sealed class SeccompArchMap
{
    public string Architecture { get; set; } = "";
    public List<string>? SubArchitectures { get; set; }
}

public sealed class SeccompArg
{
    public uint Index { get; set; }
    public ulong Value { get; set; }
    public ulong ValueTwo { get; set; }
    public string Op { get; set; } = "";
}

/// <summary>When a rule applies: every capability in <c>caps</c> (includes) or none of them (excludes); the native
/// architecture (Go's names: amd64, arm64, …) among <c>arches</c>; a kernel at least <c>minKernel</c>.</summary>
public sealed class SeccompCondition
{
    public List<string>? Caps { get; set; }
    public List<string>? Arches { get; set; }
    public string? MinKernel { get; set; }
}

public sealed class SeccompSyscall
{
    public string? Name { get; set; }
    public List<string>? Names { get; set; }
    public string Action { get; set; } = "";
    public uint? ErrnoRet { get; set; }
    public List<SeccompArg>? Args { get; set; }
    public SeccompCondition? Includes { get; set; }
    public SeccompCondition? Excludes { get; set; }
    public string? Comment { get; set; }

    public bool Applies(IReadOnlyCollection<string> capabilities, SeccompArch arch)
    {
        if (Includes is { } inc)
        {
            if (inc.Caps is { Count: > 0 } && !inc.Caps.All(capabilities.Contains)) return false;
            if (inc.Arches is { Count: > 0 } && !inc.Arches.Contains(arch.GoName)) return false;
            if (inc.MinKernel is { Length: > 0 } k && !KernelAtLeast(k)) return false;
        }
        if (Excludes is { } exc)
        {
            if (exc.Caps is { Count: > 0 } && exc.Caps.Any(capabilities.Contains)) return false;
            if (exc.Arches is { Count: > 0 } && exc.Arches.Contains(arch.GoName)) return false;
            if (exc.MinKernel is { Length: > 0 } k && KernelAtLeast(k)) return false;
        }
        return true;
    }

    private static bool KernelAtLeast(string version)
    {
        static Version Parse(string v)
        {
            var parts = v.Split('.', '-', '+').Take(2).Select(p => int.TryParse(p, out int n) ? n : 0).ToArray();
            return new Version(parts.ElementAtOrDefault(0), parts.ElementAtOrDefault(1));
        }
        return Parse(Environment.OSVersion.Version.ToString()) >= Parse(version);
    }
}

/// <summary>The architecture a profile is resolved for: libseccomp's name of the native one, Go's name (what
/// <c>includes.arches</c> says), and the sub-architectures whose binaries it also runs.</summary>
public sealed record SeccompArch(string Native, string GoName, string[] Sub)
{
    public static SeccompArch Current => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => new("SCMP_ARCH_X86_64", "amd64", ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        System.Runtime.InteropServices.Architecture.Arm64 => new("SCMP_ARCH_AARCH64", "arm64", ["SCMP_ARCH_ARM"]),
        System.Runtime.InteropServices.Architecture.X86 => new("SCMP_ARCH_X86", "386", []),
        System.Runtime.InteropServices.Architecture.Arm => new("SCMP_ARCH_ARM", "arm", []),
        System.Runtime.InteropServices.Architecture.S390x => new("SCMP_ARCH_S390X", "s390x", ["SCMP_ARCH_S390"]),
        System.Runtime.InteropServices.Architecture.Ppc64le => new("SCMP_ARCH_PPC64LE", "ppc64le", []),
        System.Runtime.InteropServices.Architecture.RiscV64 => new("SCMP_ARCH_RISCV64", "riscv64", []),
        var other => throw new EngineException("UnsupportedArchitecture", ErrorKind.InvalidOperation, other.ToString(),
            $"No seccomp profile is defined for the {other} architecture."),
    };
}
