using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>docker pause: freezes a running container.</summary>
    public Container Pause(string idOrName) => Manager.Pause(ResolveId(idOrName));

    /// <summary>docker unpause.</summary>
    public Container Unpause(string idOrName) => Manager.Resume(ResolveId(idOrName));

    /// <summary>docker rename (the new name is checked by the engine: valid and free).</summary>
    public Container Rename(string idOrName, string newName) => Manager.Rename(ResolveId(idOrName), newName.TrimStart('/'));

    /// <summary>docker top: the processes of a running container.</summary>
    public IReadOnlyList<ContainerProcess> Top(string idOrName) => Manager.Processes(ResolveId(idOrName));
}
