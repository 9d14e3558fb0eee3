using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Security;

/// <summary>
/// A container's security options as <c>-SecurityOption</c> (docker's <c>--security-opt</c>) gives them:
/// the seccomp profile (<c>default</c>, <c>unconfined</c> or a file read at creation), no_new_privs (off unless
/// asked, as in Docker), <c>label=disable</c> and an AppArmor profile.
/// </summary>
public sealed record ContainerSecurity(string Seccomp, string? SeccompProfileJson, bool NoNewPrivileges, bool LabelDisable, string? AppArmor)
{
    public const string DefaultSeccomp = "default", Unconfined = "unconfined";

    private static readonly Lazy<SeccompProfile> DefaultProfile = new(DefaultSeccompProfile.Build);

    /// <summary>
    /// Reads options as the user wrote them (<c>seccomp=FILE</c> reads FILE now, as docker's client does) and checks each.
    /// <paramref name="readFile"/> is how a profile path is read (the real file system unless a test says otherwise).
    /// </summary>
    public static ContainerSecurity Parse(IEnumerable<string> options, string? storedProfile = null, Func<string, string>? readFile = null)
    {
        string seccomp = DefaultSeccomp;
        string? profile = null, apparmor = null;
        bool nnp = false, labelDisable = false;
        foreach (string raw in options)
        {
            string opt = raw.Trim();
            // docker accepts key=value and the older key:value
            int sep = opt.IndexOfAny(['=', ':']);
            string key = sep < 0 ? opt : opt[..sep], value = sep < 0 ? "" : opt[(sep + 1)..];
            switch (key)
            {
                case "no-new-privileges":
                    nnp = value switch
                    {
                        "" or "true" => true,
                        "false" => false,
                        _ => throw Invalid(raw, $"no-new-privileges takes true or false, not '{value}'."),
                    };
                    break;
                case "seccomp":
                    if (value.Length == 0) throw Invalid(raw, "seccomp needs a value: seccomp=unconfined or seccomp=<path to a profile JSON>.");
                    if (value == Unconfined)
                    {
                        seccomp = Unconfined;
                        profile = null;
                    }
                    else if (value is DefaultSeccomp or "builtin")
                    {
                        seccomp = DefaultSeccomp;
                        profile = null;
                    }
                    else
                    {
                        seccomp = value;
                        profile = storedProfile ?? ReadProfile(value, readFile);
                        SeccompProfile.Parse(profile, value);
                    }
                    break;
                case "label":
                    if (value == "disable") labelDisable = true;
                    else throw new EngineException("SecurityOptionNotSupported", ErrorKind.InvalidArgument, raw, HostSecurity.SelinuxEnabled
                        ? $"'{raw}': SELinux labels other than label=disable are not supported."
                        : $"'{raw}': SELinux is not enabled on this host, so a label cannot be applied (label=disable is accepted).");
                    break;
                case "apparmor":
                    if (value.Length == 0) throw Invalid(raw, "apparmor needs a profile name (apparmor=unconfined or apparmor=PROFILE).");
                    if (value != Unconfined && !HostSecurity.AppArmorEnabled)
                        throw new EngineException("AppArmorNotEnabled", ErrorKind.InvalidArgument, raw,
                            $"'{raw}': AppArmor is not enabled on this host, so profile '{value}' cannot be applied (apparmor=unconfined is accepted).");
                    apparmor = value;
                    break;
                default:
                    throw Invalid(raw, $"'{raw}' is not a security option: use seccomp=unconfined, seccomp=<profile.json>, no-new-privileges[=true|false], label=disable or apparmor=<profile>.");
            }
        }
        return new ContainerSecurity(seccomp, profile, nnp, labelDisable, apparmor);
    }

    /// <summary>The options as stored and shown: every option's effective value, seccomp and no-new-privileges always.</summary>
    public List<string> ToOptions()
    {
        var list = new List<string> { $"seccomp={Seccomp}", $"no-new-privileges={(NoNewPrivileges ? "true" : "false")}" };
        if (LabelDisable) list.Add("label=disable");
        if (AppArmor is not null) list.Add($"apparmor={AppArmor}");
        return list;
    }

    /// <summary>Checks New-Container's options and stores them resolved: the profile's text, not its path, so a later
    /// change to the file does not change the container (docker keeps the text too).</summary>
    public static void Validate(ContainerOptions o, Func<string, string>? readFile = null)
    {
        var s = Parse(o.SecurityOptions, null, readFile);
        if (s.SeccompProfileJson is { } json)
            SeccompProfile.Parse(json, s.Seccomp).ToSpec(RuntimeSpecBuilder.DefaultCapabilities, SeccompArch.Current);
        o.SecurityOptions = s.ToOptions();
        o.SeccompProfile = s.SeccompProfileJson;
    }

    /// <summary>The stored options of a container (no file is read again).</summary>
    public static ContainerSecurity Of(ContainerOptions o)
    {
        var parsed = Parse(o.SecurityOptions, o.SeccompProfile, _ =>
            throw new EngineException("InvalidSeccompProfile", ErrorKind.InvalidData, o.Name, "The container's stored seccomp profile is missing; recreate it."));
        // docker --privileged runs with no seccomp filter and no AppArmor profile, whatever else was asked.
        return o.Privileged ? parsed with { Seccomp = Unconfined, SeccompProfileJson = null, AppArmor = Unconfined } : parsed;
    }

    /// <summary>
    /// Puts the options into a spec built by <see cref="RuntimeSpecBuilder"/>: process.noNewPrivileges, the seccomp
    /// profile resolved against the spec's bounding capabilities, and an AppArmor profile when one is asked for.
    /// </summary>
    public void Apply(JsonObject spec)
    {
        var process = spec["process"]!.AsObject();
        process["noNewPrivileges"] = NoNewPrivileges;
        if (AppArmor is not null && AppArmor != Unconfined) process["apparmorProfile"] = AppArmor;
        if (Seccomp == Unconfined) return;
        var caps = (process["capabilities"]?["bounding"]?.AsArray() ?? [])
            .Select(c => c!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var profile = SeccompProfileJson is { } json ? SeccompProfile.Parse(json, Seccomp) : DefaultProfile.Value;
        spec["linux"]!.AsObject()["seccomp"] = profile.ToSpec(caps, SeccompArch.Current);
    }

    private static string ReadProfile(string path, Func<string, string>? readFile)
    {
        if (readFile is not null) return readFile(path);
        if (!Path.IsPathRooted(path))
            throw Invalid("seccomp=" + path, $"The seccomp profile path '{path}' must be absolute.");
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new EngineException("SeccompProfileNotFound", ErrorKind.ObjectNotFound, path, $"The seccomp profile '{path}' does not exist.");
            if (info.Length > 1 << 20)
                throw new EngineException("InvalidSeccompProfile", ErrorKind.InvalidArgument, path, $"The seccomp profile '{path}' is larger than 1 MiB.");
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EngineException("SeccompProfileNotFound", ErrorKind.ReadError, path, $"Cannot read the seccomp profile '{path}': {e.Message}", e);
        }
    }

    private static EngineException Invalid(string target, string message) =>
        new("InvalidSecurityOption", ErrorKind.InvalidArgument, target, message);
}

/// <summary>Which Linux security modules the host runs (what runc's libraries check).</summary>
public static class HostSecurity
{
    public static bool AppArmorEnabled =>
        Directory.Exists("/sys/kernel/security/apparmor") && ReadStart("/sys/module/apparmor/parameters/enabled") == 'Y';

    public static bool SelinuxEnabled => File.Exists("/sys/fs/selinux/enforce");

    private static char ReadStart(string path)
    {
        try
        {
            string s = File.ReadAllText(path);
            return s.Length > 0 ? s[0] : '\0';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return '\0';
        }
    }
}
