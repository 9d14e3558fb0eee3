namespace PSContainer.Engine.Containers;

public sealed partial class ContainerOptions
{
    /// <summary>
    /// docker --volumes-from: CONTAINER[:ro|:rw] entries as given. At creation each becomes the other container's
    /// volumes and binds at the same paths (added to <see cref="Volumes"/> and <see cref="Mounts"/>); kept here to show
    /// where they came from.
    /// </summary>
    public List<string> VolumesFrom { get; set; } = new();
}
