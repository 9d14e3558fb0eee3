namespace PSContainer.Engine.Volumes;

/// <summary>A volume (docker volume inspect): a directory under the state root, or a mount the local driver makes there.</summary>
public sealed class ContainerVolume
{
    public string Name { get; init; } = "";
    /// <summary>The host directory containers see: &lt;root&gt;/volumes/&lt;name&gt;/_data.</summary>
    public string Mountpoint { get; init; } = "";
    public string Driver { get; init; } = "local";
    /// <summary>The local driver's options (type, device, o).</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public DateTime Created { get; init; }
    /// <summary>Made for one container (a bare -Volume /path or an image's VOLUME), not by name.</summary>
    public bool Anonymous { get; init; }
    /// <summary>Names of the containers that use it (running or not).</summary>
    public string[] UsedBy { get; init; } = [];
    /// <summary>Bytes used (Get-ContainerVolume -Size), else null.</summary>
    public long? Size { get; init; }
    public string Scope => "local";

    public override string ToString() => Name;
}

/// <summary>What New-ContainerVolume takes.</summary>
public sealed class VolumeCreateOptions
{
    public string? Name { get; set; }
    public string Driver { get; set; } = "local";
    public Dictionary<string, string> Options { get; set; } = new();
    public Dictionary<string, string> Labels { get; set; } = new();
}
