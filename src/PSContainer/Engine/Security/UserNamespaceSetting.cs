using System.Globalization;
using PSContainer.Native;

namespace PSContainer.Engine.Security;

/// <summary>How a container's user namespace is chosen: none (host), an allocated range (auto), or given ids.</summary>
public enum UserNamespaceKind
{
    Host,
    Auto,
    Mapped,
}

/// <summary>
/// -UserNamespace as the user writes it: <c>Host</c> (docker's default: no user namespace), <c>Auto</c> (podman's
/// --userns=auto: a private range of 65536 ids from the pscontainer user's /etc/subuid and /etc/subgid entries), or
/// <c>containeruid:hostuid:count</c> (docker's --userns-remap with fixed ids; the same map is used for gids).
/// Stored as its canonical text ("host", "auto", "0:100000:65536").
/// </summary>
public sealed record UserNamespaceSetting(UserNamespaceKind Kind, IdMapping? Map)
{
    /// <summary>Ids each Auto container gets: the 16-bit id space images are built for (as podman and docker).</summary>
    public const long AutoSize = 65536;

    /// <summary>The highest valid id is 2^32-2: (uid_t)-1 means "no change" to the kernel.</summary>
    private const long MaxId = 4294967294;

    public static readonly UserNamespaceSetting Host = new(UserNamespaceKind.Host, null);
    public static readonly UserNamespaceSetting Auto = new(UserNamespaceKind.Auto, null);

    public override string ToString() => Kind switch
    {
        UserNamespaceKind.Host => "host",
        UserNamespaceKind.Auto => "auto",
        _ => Map!.Value.ToString(),
    };

    public static UserNamespaceSetting Parse(string text)
    {
        string t = text.Trim();
        if (t.Equals("host", StringComparison.OrdinalIgnoreCase)) return Host;
        if (t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return Auto;
        string[] parts = t.Split(':');
        if (parts.Length != 3 || !parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
            throw Invalid(text, "use Host, Auto, or containeruid:hostuid:count (e.g. 0:100000:65536).");
        if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long inside)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long outside)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long count))
            throw Invalid(text, "the ids are too large.");
        if (count < 1) throw Invalid(text, "the count must be at least 1.");
        if (inside != 0) throw Invalid(text, "the map must start at container id 0 (root in the container must be mapped).");
        if (outside + count - 1 > MaxId || inside + count - 1 > MaxId) throw Invalid(text, $"ids end past {MaxId}.");
        return new UserNamespaceSetting(UserNamespaceKind.Mapped, new IdMapping(inside, outside, count));
    }

    private static EngineException Invalid(string text, string why) =>
        new("InvalidUserNamespace", ErrorKind.InvalidArgument, text, $"'{text}' is not a valid -UserNamespace: {why}");

    /// <summary>
    /// The mode a container gets when -UserNamespace is not given: $env:PSCONTAINER_USERNS (Host or Auto), else Host,
    /// docker's default. It is recorded with the container, so changing it later does not change existing ones.
    /// </summary>
    public static UserNamespaceSetting Default =>
        Environment.GetEnvironmentVariable("PSCONTAINER_USERNS") is { Length: > 0 } v
            ? Parse(v) is { Kind: not UserNamespaceKind.Mapped } s ? s
                : throw new EngineException("InvalidUserNamespace", ErrorKind.InvalidArgument, v, "$env:PSCONTAINER_USERNS must be Host or Auto.")
            : Host;
}
