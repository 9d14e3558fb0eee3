using System.Globalization;
using System.Text.RegularExpressions;

namespace PSContainer.Api;

/// <summary>
/// Docker API versions and the version prefix of request paths (/v1.41/containers/json). Like dockerd, the server
/// answers unversioned paths as its newest version, and refuses versions outside [Min, Max] with a 400 whose message
/// is dockerd's, which clients show as they are. The version a request asked for is <see cref="Requested"/> while it
/// is served, so an answer whose shape changed between versions is given in the shape that client knows.
/// </summary>
public readonly partial record struct ApiVersion(int Major, int Minor) : IComparable<ApiVersion>
{
    /// <summary>The newest version served: docker 25's, which Testcontainers for .NET 4 asks for. Older clients (the
    /// docker 20.10 CLI of Debian 12 speaks 1.41) negotiate down from it and get the shapes of their version.</summary>
    public static readonly ApiVersion Max = new(1, 44);

    /// <summary>The oldest version served, dockerd 20.10's minimum.</summary>
    public static readonly ApiVersion Min = new(1, 12);

    private static readonly AsyncLocal<ApiVersion?> requested = new();

    /// <summary>The version the request being served asked for (its path prefix), <see cref="Max"/> for an unversioned
    /// path or outside a request. Set by the server's first middleware; flows into the endpoint that answers.</summary>
    public static ApiVersion Requested => requested.Value ?? Max;

    /// <summary>Serves what follows (in this async flow) as VERSION; dispose to go back. For the server's middleware
    /// and for tests of version-dependent shapes.</summary>
    public static IDisposable Use(ApiVersion version)
    {
        var previous = requested.Value;
        requested.Value = version;
        return new Restore(previous);
    }

    /// <summary>True when the request being served asked for MAJOR.MINOR or newer.</summary>
    public static bool RequestedAtLeast(int major, int minor) => Requested >= new ApiVersion(major, minor);

    /// <summary>The Content-Type of a logs, attach or exec stream: from 1.42 it says whether the stream is multiplexed
    /// (stdout/stderr frames) or raw (a TTY's bytes); before, both were raw-stream.</summary>
    public static string StreamContentType(bool multiplexed) =>
        multiplexed && RequestedAtLeast(1, 42) ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";

    private sealed class Restore(ApiVersion? previous) : IDisposable
    {
        public void Dispose() => requested.Value = previous;
    }

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
