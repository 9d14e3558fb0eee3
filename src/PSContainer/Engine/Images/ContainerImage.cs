namespace PSContainer.Engine.Images;

/// <summary>How a container from this image runs by default (the image config's "config" section).</summary>
public sealed class ImageRunConfig
{
    public string[] Cmd { get; init; } = [];
    public string[] Entrypoint { get; init; } = [];
    public string[] Env { get; init; } = [];
    public string WorkingDir { get; init; } = "";
    public string User { get; init; } = "";
    public string[] ExposedPorts { get; init; } = [];
    public string[] Volumes { get; init; } = [];
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public string StopSignal { get; init; } = "";
    /// <summary>The image's HEALTHCHECK, null when it has none.</summary>
    public Oci.HealthConfig? Healthcheck { get; init; }

    public override string ToString() => string.Join(' ', Entrypoint.Concat(Cmd));
}

/// <summary>An image in the store.</summary>
public sealed class ContainerImage
{
    /// <summary>The image id: the digest of its config (sha256:…), as docker defines it.</summary>
    public string Id { get; init; } = "";
    /// <summary>The first 12 hex digits of the id, as docker images prints it.</summary>
    public string ShortId => Id.Length > 19 ? Id[7..19] : Id;
    /// <summary>Tags in docker's familiar form (busybox:latest, localhost:5000/app:1).</summary>
    public string[] RepoTags { get; init; } = [];
    public string[] RepoDigests { get; init; } = [];
    public DateTime? Created { get; init; }
    /// <summary>Bytes of the unpacked layers (what docker images reports).</summary>
    public long Size { get; init; }
    public string Architecture { get; init; } = "";
    public string Os { get; init; } = "";
    public string? Variant { get; init; }
    public ImageRunConfig Config { get; init; } = new();
    /// <summary>The layers' diff ids, base first.</summary>
    public string[] Layers { get; init; } = [];
    public string ManifestDigest { get; init; } = "";
    public string ManifestMediaType { get; init; } = "";
    /// <summary>When this store got the image.</summary>
    public DateTime Added { get; init; }

    /// <summary>Repository of the first tag, or &lt;none&gt; (the REPOSITORY column of docker images).</summary>
    public string Repository => RepoTags.Length == 0 ? "<none>" : RepoTags[0][..RepoTags[0].LastIndexOf(':')];

    public string Tag => RepoTags.Length == 0 ? "<none>" : RepoTags[0][(RepoTags[0].LastIndexOf(':') + 1)..];

    public override string ToString() => RepoTags.Length > 0 ? RepoTags[0] : Id;
}
