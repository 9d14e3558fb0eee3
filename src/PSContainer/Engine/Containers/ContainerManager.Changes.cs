namespace PSContainer.Engine.Containers;

/// <summary>docker diff: what a container changed of its image, from its upper directory.</summary>
public sealed partial class ContainerManager
{
    /// <summary>The container's upper directory (it persists after the container stops; a never-started one has none).</summary>
    public string UpperDir(string id) => Path.Combine(ContainerDir(id), "upper");

    /// <summary>The image's unpacked layers as overlay lower dirs, top first.</summary>
    public IReadOnlyList<string> LowerDirs(ContainerRecord record) =>
        images.LayersOf(record.ImageId).OrderByDescending(l => l.Position).Select(l => images.Layers.DiffOf(l.ChainId)).ToList();

    public IReadOnlyList<ContainerChange> Changes(string idOrName)
    {
        var record = Resolve(idOrName);
        // Under the container's lock: a removal cannot delete the directory while it is read.
        using (LockContainer(record.Id))
        {
            record = Current(record.Id, idOrName);
            return UpperLayer.Changes(UpperDir(record.Id), LowerDirs(record));
        }
    }
}
