namespace PSContainer.Engine.Containers;

public sealed partial class ContainerOptions
{
    /// <summary>
    /// host, auto, or containeruid:hostuid:count (see <see cref="Security.UserNamespaceSetting"/>); null until
    /// Create applies the module default ($env:PSCONTAINER_USERNS).
    /// </summary>
    public string? UserNamespace { get; set; }
}
