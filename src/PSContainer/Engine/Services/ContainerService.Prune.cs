using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>What docker container prune removed and the bytes their writable layers held.</summary>
public sealed record ContainerPruneResult(string[] ContainersDeleted, long SpaceReclaimed);

public sealed partial class ContainerService
{
    /// <summary>
    /// docker container prune: every container that is not running, paused or restarting, narrowed by until (made
    /// before) and label / label!. Each is removed without force, so one started meanwhile is kept (the engine
    /// refuses to remove a running container), and a failure of one does not stop the others.
    /// </summary>
    public ContainerPruneResult Prune(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        ObjectFilters.Check(filters, "until", "label", "label!");
        var until = ObjectFilters.Until(filters, DateTime.UtcNow);
        var deleted = new List<string>();
        long freed = 0;
        foreach (var c in Manager.List())
        {
            if (c.State is ContainerState.Running or ContainerState.Paused or ContainerState.Restarting) continue;
            if (until is DateTime u && c.Created >= u) continue;
            if (!ObjectFilters.LabelsMatch(filters, c.Labels)) continue;
            if (Build.BuildContainers.OfLiveBuild(c.Labels)) continue; // a step of a build that is running now
            long size = ContainerManager.DirectorySize(Manager.UpperDir(c.Id));
            try
            {
                Remove(c.Id, force: false, removeVolumes: false);
            }
            catch (EngineException e) when (e.Kind is ErrorKind.InvalidOperation or ErrorKind.ObjectNotFound)
            {
                continue; // started or removed by someone else since the listing
            }
            deleted.Add(c.Id);
            freed += size;
        }
        return new ContainerPruneResult(deleted.ToArray(), freed);
    }
}
