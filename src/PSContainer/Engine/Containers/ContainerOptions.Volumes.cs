namespace PSContainer.Engine.Containers;

public sealed partial class ContainerOptions
{
    /// <summary>docker --mount CSV specs (type=volume|bind|tmpfs,source=…,target=…[,readonly]).</summary>
    public List<string> Mounts { get; set; } = new();

    /// <summary>
    /// Names of the anonymous volumes made for this container (its bare -Volume /path, -Mount without source and the
    /// image's VOLUME entries), fixed at creation; Remove-Container -Volumes and -AutoRemove remove them.
    /// </summary>
    public List<string> AnonymousVolumes { get; set; } = new();
}
