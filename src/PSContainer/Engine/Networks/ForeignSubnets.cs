using System.Text.Json;

namespace PSContainer.Engine.Networks;

/// <summary>
/// Subnets other container engines on this host have claimed in their configuration, whether or not their bridges
/// are up: podman's CNI networks (/etc/cni/net.d, where Debian's podman package installs its default network,
/// 10.88.0.0/16) and netavark's (/etc/containers/networks), plus podman's built-in default when podman is installed
/// without a file for it. A network chosen automatically avoids them as it avoids the host's routes: made on one, its
/// route would take the other engine's traffic, and that engine's published ports would stop answering as soon as it
/// started a container there (neither CNI nor netavark looks at the routes before using their own defaults).
/// </summary>
internal static class ForeignSubnets
{
    private static readonly string[] ConfigDirectories = ["/etc/cni/net.d", "/etc/containers/networks"];

    /// <summary>podman's default network when no file defines it (netavark keeps it in memory).</summary>
    private static readonly Subnet PodmanDefault = new((10u << 24) | (88u << 16), 16);

    public static List<Subnet> Read() => Read(ConfigDirectories, PodmanInstalled());

    /// <summary>The IPv4 "subnet" values of the JSON files (.conflist, .conf, .json) in <paramref name="directories"/>; an
    /// unreadable or malformed file claims nothing.</summary>
    internal static List<Subnet> Read(IEnumerable<string> directories, bool podmanInstalled)
    {
        var found = new List<Subnet>();
        if (podmanInstalled) found.Add(PodmanDefault);
        foreach (string dir in directories)
        {
            if (!Directory.Exists(dir)) continue;
            foreach (string file in Directory.EnumerateFiles(dir))
            {
                if (Path.GetExtension(file) is not (".conflist" or ".conf" or ".json")) continue;
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
                    Collect(doc.RootElement, found);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
                {
                    // Not ours to judge: an engine that cannot read it uses no subnet from it either.
                }
            }
        }
        return found;
    }

    private static void Collect(JsonElement e, List<Subnet> found)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (p.NameEquals("subnet") && p.Value.ValueKind == JsonValueKind.String &&
                        Subnet.TryParse(p.Value.GetString()!, out var s, out _))
                        found.Add(s);
                    else
                        Collect(p.Value, found);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) Collect(item, found);
                break;
        }
    }

    private static bool PodmanInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Any(dir => File.Exists(Path.Combine(dir, "podman")));
}
