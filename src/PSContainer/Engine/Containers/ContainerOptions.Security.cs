namespace PSContainer.Engine.Containers;

// -SecurityOption (docker's --security-opt), kept apart from the other options so security changes stay in one place.
public sealed partial class ContainerOptions
{
    /// <summary>seccomp=default|unconfined|&lt;path&gt;, no-new-privileges=true|false, label=disable, apparmor=…: as given
    /// to New-Container, then (after validation) every effective value.</summary>
    public List<string> SecurityOptions { get; set; } = new();

    /// <summary>The text of a seccomp=&lt;path&gt; profile, read when the container was created.</summary>
    public string? SeccompProfile { get; set; }
}
