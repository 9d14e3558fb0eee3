using System.Globalization;
using System.Text.RegularExpressions;

namespace PSContainer.Api;

/// <summary>
/// Docker API versions and the version prefix of request paths (/v1.41/containers/json). Like dockerd, the server
/// answers unversioned paths as its newest version, and refuses versions outside [Min, Max] with a 400 whose message
/// is dockerd's, which clients show as they are.
/// </summary>
public readonly partial record struct ApiVersion(int Major, int Minor) : IComparable<ApiVersion>
{
    /// <summary>The newest version served: docker 20.10's (the docker CLI of Debian 12 asks for it).</summary>
    public static readonly ApiVersion Max = new(1, 41);

    /// <summary>The oldest version served, dockerd 20.10's minimum.</summary>
    public static readonly ApiVersion Min = new(1, 12);

    public int CompareTo(ApiVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(ApiVersion a, ApiVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(ApiVersion a, ApiVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(ApiVersion a, ApiVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(ApiVersion a, ApiVersion b) => a.CompareTo(b) >= 0;

    public override string ToString() => Major.ToString(CultureInfo.InvariantCulture) + "." + Minor.ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out ApiVersion version)
    {
        version = default;
        var m = VersionText().Match(text);
        if (!m.Success) return false;
        if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int major)) return false;
        if (!int.TryParse(m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int minor)) return false;
        version = new ApiVersion(major, minor);
        return true;
    }

    /// <summary>
    /// Splits "/v1.41/containers/json" into "1.41" and "/containers/json". False for a path without a version prefix
    /// (the path is then served as it is).
    /// </summary>
    public static bool TrySplitPath(string path, out string version, out string rest)
    {
        var m = VersionedPath().Match(path);
        if (!m.Success)
        {
            version = "";
            rest = path;
            return false;
        }
        version = m.Groups[1].Value;
        rest = m.Groups[2].Value.Length == 0 ? "/" : m.Groups[2].Value;
        return true;
    }

    /// <summary>Null when the version is served, else dockerd's message for it.</summary>
    public static string? Refusal(string versionText)
    {
        if (!TryParse(versionText, out var v)) return $"invalid API version '{versionText}'";
        if (v > Max) return $"client version {versionText} is too new. Maximum supported API version is {Max}";
        if (v < Min) return $"client version {versionText} is too old. Minimum supported API version is {Min}, please upgrade your client to a newer version";
        return null;
    }

    [GeneratedRegex(@"^(\d+)\.(\d+)$")]
    private static partial Regex VersionText();

    // Digits and dots, as dockerd's router matches /v{version:[0-9.]+}/; the check above decides if it is served.
    [GeneratedRegex(@"^/v([0-9.]+)(/.*)?$")]
    private static partial Regex VersionedPath();
}
