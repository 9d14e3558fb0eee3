using System.Text.RegularExpressions;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Checks of what a user gives a container (environment, hostname), made once here so every place that takes
/// them (New-Container, Invoke-ContainerCommand, an image config written by Import-ContainerImage) refuses the
/// same input the same way, at the time it is given rather than when the kernel refuses it at start.
/// </summary>
public static partial class ContainerInputRules
{
    /// <summary>Linux's HOST_NAME_MAX: sethostname refuses longer names with EINVAL.</summary>
    public const int MaxHostnameLength = 64;

    /// <summary>RFC 1123 labels: letters, digits and hyphens, not starting or ending with a hyphen, at most 63 long.</summary>
    [GeneratedRegex("^(?=.{1,64}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex Hostname();

    /// <summary>
    /// A variable's name must be non-empty without '=' (the process would see A=B=c for name A=B), and neither name
    /// nor value may hold NUL, which ends the string execve passes (a value would be cut there, silently).
    /// </summary>
    public static void ValidateEnvironment(IEnumerable<KeyValuePair<string, string>> environment)
    {
        foreach (var (name, value) in environment)
        {
            if (name.Length == 0 || name.Contains('=') || name.Contains('\0'))
                throw new EngineException("InvalidEnvironment", ErrorKind.InvalidArgument, name,
                    $"'{name.Replace("\0", "\\0")}' is not a valid environment variable name: it must be non-empty, without '=' or NUL.");
            if (value.Contains('\0'))
                throw new EngineException("InvalidEnvironment", ErrorKind.InvalidArgument, name,
                    $"The value of environment variable '{name}' contains a NUL character, which a process environment cannot hold.");
        }
    }

    public static void ValidateHostname(string? hostname)
    {
        if (hostname is null) return;
        if (!Hostname().IsMatch(hostname))
            throw new EngineException("InvalidHostname", ErrorKind.InvalidArgument, hostname, hostname.Length > MaxHostnameLength
                ? $"Hostname is {hostname.Length} characters long; Linux allows at most {MaxHostnameLength}."
                : $"'{hostname}' is not a valid hostname: use letters, digits and hyphens in dot-separated labels (RFC 1123) that neither start nor end with a hyphen.");
    }
}
