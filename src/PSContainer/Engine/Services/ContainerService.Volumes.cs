using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>
/// Volume events for the volumes a container's create or removal makes or deletes on its own: a named volume first
/// used by -Volume name:/path (docker creates it then), the anonymous ones of -Volume /path and the image's VOLUMEs,
/// and those Remove-Container -Volumes (docker rm -v) deletes. The engine makes them inside its create and remove;
/// the service compares the volume records before and after and records what came or went for this container.
/// </summary>
public sealed partial class ContainerService
{
    private ObjectEvents? objectEvents;

    private ObjectEvents ObjectEvents => objectEvents ??= new ObjectEvents(engine);

    /// <summary>Creates the container (docker create) and records the create of each volume made for it.</summary>
    public Container Create(ContainerOptions options)
    {
        var before = VolumeDrivers();
        var created = Manager.Create(options);
        foreach (var (name, driver) in VolumeDrivers())
            if (!before.ContainsKey(name) && Manager.Volumes.Store.UserIds(name).Contains(created.Id))
                ObjectEvents.Volume("create", name, driver);
        return created;
    }

    public void Remove(string idOrName, bool force, bool removeVolumes)
    {
        string id = ResolveId(idOrName);
        // Only a removal with its volumes deletes any, and only anonymous ones: the others need no look at the volumes.
        var used = removeVolumes
            ? Manager.Volumes.Store.All().Where(v => v.Anonymous && Manager.Volumes.Store.UserIds(v.Name).Contains(id)).Select(v => (v.Name, v.Driver)).ToList()
            : [];
        lock (GateOf(id)) Manager.Remove(id, force, removeVolumes);
        gates.TryRemove(id, out _);
        if (used.Count == 0) return;
        var left = VolumeDrivers();
        foreach (var (name, driver) in used)
            if (!left.ContainsKey(name)) ObjectEvents.Volume("destroy", name, driver);
    }

    private Dictionary<string, string> VolumeDrivers() =>
        Manager.Volumes.Store.All().ToDictionary(v => v.Name, v => v.Driver, StringComparer.Ordinal);
}
