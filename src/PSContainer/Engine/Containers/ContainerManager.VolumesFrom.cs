using PSContainer.Engine.Containers.Providers;

namespace PSContainer.Engine.Containers;

/// <summary>docker --volumes-from: the volume provider's <see cref="VolumesFrom"/>, given this manager's name resolution.</summary>
public sealed partial class ContainerManager
{
    /// <summary>Parses CONTAINER[:ro|:rw]; the container part is checked by resolving it.</summary>
    internal static (string Container, bool? ReadOnly) ParseVolumesFrom(string text) => VolumesFrom.Parse(text);

    /// <summary>Adds the mounts of the -VolumesFrom containers to the options (before the record is written).</summary>
    private void ExpandVolumesFrom(ContainerOptions o) => VolumesFrom.Expand(o, name => Resolve(name).Options);
}
