using PSContainer.Engine.Images;

namespace PSContainer.Engine.Build;

/// <summary>
/// A build's platform (os/architecture[/variant]) as FROM --platform and -Platform write it, with the names
/// containerd's platform parser accepts for the same architectures. Steps run natively here (no emulation), so a
/// build targets the host's architecture; BuildKit's BUILDPLATFORM/TARGETPLATFORM arguments are predefined from it.
/// </summary>
public sealed record BuildPlatform(string Os, string Architecture, string? Variant)
{
    public static BuildPlatform Host => new("linux", ImageImporter.HostArchitecture, null);

    /// <summary>Reads "os/arch[/variant]" (or a bare architecture, whose os is linux); a bad value names the line.</summary>
    public static BuildPlatform Parse(string text, int line)
    {
        string[] parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 1 or > 3 || parts.Any(p => p.Length == 0 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw new DockerfileException("InvalidPlatform", line, $"'{text}' is not a platform: write os/architecture[/variant], for example linux/amd64.", ErrorKind.InvalidArgument);
        if (parts.Length == 1) return parts[0] == "linux" ? Host : new BuildPlatform("linux", NormalArchitecture(parts[0]), null);
        string arch = NormalArchitecture(parts[1]);
        string? variant = parts.Length == 3 ? parts[2] : null;
        if (arch == "arm64" && variant == "v8") variant = null; // arm64 and arm64/v8 are one platform
        return new BuildPlatform(parts[0], arch, variant);
    }

    private static string NormalArchitecture(string arch) => arch switch
    {
        "x86_64" or "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" or "i686" => "386",
        "armhf" or "armel" => "arm",
        _ => arch,
    };

    /// <summary>Whether an image made for os/arch/variant is this platform (a missing variant matches any, and so
    /// does a config that names no architecture at all, as docker import's images may: nothing says they differ).</summary>
    public bool Matches(string? os, string? architecture, string? variant) =>
        string.Equals(string.IsNullOrEmpty(os) ? "linux" : os, Os, StringComparison.OrdinalIgnoreCase)
        && (string.IsNullOrEmpty(architecture) || string.Equals(NormalArchitecture(architecture.ToLowerInvariant()), Architecture, StringComparison.Ordinal))
        && (Variant is null || string.IsNullOrEmpty(variant) || string.Equals(variant, Variant, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether the host can run this platform's programs without emulation.</summary>
    public bool RunsOnHost => Os == "linux" && Architecture == ImageImporter.HostArchitecture;

    public override string ToString() => Os + "/" + Architecture + (Variant is null ? "" : "/" + Variant);

    /// <summary>BuildKit's predefined platform arguments (PREFIXPLATFORM, PREFIXOS, PREFIXARCH, PREFIXVARIANT) for this platform.</summary>
    public IEnumerable<KeyValuePair<string, string>> Args(string prefix) =>
    [
        new(prefix + "PLATFORM", ToString()), new(prefix + "OS", Os), new(prefix + "ARCH", Architecture), new(prefix + "VARIANT", Variant ?? ""),
    ];

    /// <summary>The predefined arguments of a build for <paramref name="target"/> on this host (BUILD* and TARGET*).</summary>
    public static Dictionary<string, string> PredefinedArgs(BuildPlatform target) =>
        new(Host.Args("BUILD").Concat(target.Args("TARGET")), StringComparer.Ordinal);
}
