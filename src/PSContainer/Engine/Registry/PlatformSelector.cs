using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Registry;

/// <summary>A platform os/architecture[/variant] as docker --platform writes it, normalized as containerd does.</summary>
public sealed record PlatformSpec(string Os, string Architecture, string? Variant)
{
    public override string ToString() => Os + "/" + Architecture + (Variant is null ? "" : "/" + Variant);

    /// <summary>This host: linux/&lt;arch&gt;, with the variant for arm (arm64 is v8).</summary>
    public static PlatformSpec Host => Normalize("linux", ImageImporter.HostArchitecture, null);

    /// <summary>Parses "linux/amd64", "linux/arm64/v8", "linux/arm/v7" (or just an architecture: linux is assumed).</summary>
    public static PlatformSpec Parse(string text)
    {
        string[] parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Any(p => p.Length == 0) || parts.Length is < 1 or > 3)
            throw new EngineException("InvalidPlatform", ErrorKind.InvalidArgument, text, $"'{text}' is not a platform; write os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8.");
        return parts.Length switch
        {
            1 => Normalize("linux", parts[0], null),
            2 => Normalize(parts[0], parts[1], null),
            _ => Normalize(parts[0], parts[1], parts[2]),
        };
    }

    /// <summary>containerd's normalization: x86_64 → amd64, aarch64 → arm64 (variant v8 is the default and dropped), armhf → arm/v7, armel → arm/v6.</summary>
    public static PlatformSpec Normalize(string os, string architecture, string? variant)
    {
        os = os.ToLowerInvariant();
        string arch = architecture.ToLowerInvariant();
        string? v = string.IsNullOrEmpty(variant) ? null : variant.ToLowerInvariant();
        switch (arch)
        {
            case "x86_64" or "x86-64" or "amd64":
                arch = "amd64";
                if (v == "v1") v = null;
                break;
            case "i386" or "386":
                arch = "386";
                break;
            case "aarch64" or "arm64":
                arch = "arm64";
                if (v is "8" or "v8") v = null;
                break;
            case "armhf":
                arch = "arm";
                v = "v7";
                break;
            case "armel":
                arch = "arm";
                v = "v6";
                break;
            case "arm":
                v = v switch { null or "7" => "v7", "5" => "v5", "6" => "v6", "8" => "v8", _ => v };
                break;
        }
        return new PlatformSpec(os, arch, v);
    }

    public static PlatformSpec From(Platform p) => Normalize(p.Os, p.Architecture, p.Variant);
}

/// <summary>Picks the manifest for a platform from an image index or docker manifest list.</summary>
public static class PlatformSelector
{
    /// <summary>
    /// The best entry for <paramref name="wanted"/>: same os and architecture, and the same variant when one is asked
    /// for (arm64 with or without v8 are the same). Entries without a platform, or for unknown/unknown (attestations),
    /// never match. Throws NoMatchingPlatform listing what the index has.
    /// </summary>
    public static Descriptor Select(ImageIndex index, PlatformSpec wanted, string indexName)
    {
        var candidates = index.Manifests
            .Where(m => m.Platform is not null && MediaTypes.IsManifest(m.MediaType) || m.Platform is not null && MediaTypes.IsIndex(m.MediaType))
            .Select(m => (Descriptor: m, Platform: PlatformSpec.From(m.Platform!)))
            .Where(c => c.Platform.Os == wanted.Os && c.Platform.Architecture == wanted.Architecture)
            .ToList();
        var match = wanted.Variant is null
            // No variant asked for: one without a variant first (the default), else the first listed.
            ? candidates.OrderBy(c => c.Platform.Variant is null ? 0 : 1).FirstOrDefault()
            : candidates.FirstOrDefault(c => c.Platform.Variant == wanted.Variant);
        if (match.Descriptor is not null) return match.Descriptor;
        string offered = string.Join(", ", index.Manifests
            .Where(m => m.Platform is not null && m.Platform.Os != "unknown")
            .Select(m => PlatformSpec.From(m.Platform!).ToString()).Distinct());
        throw new EngineException("NoMatchingPlatform", ErrorKind.ObjectNotFound, indexName,
            $"{indexName} has no image for {wanted} (it has {(offered.Length == 0 ? "no platform-specific images" : offered)}); choose one with -Platform.");
    }
}
