using PSContainer.Engine.Build;

namespace PSContainer.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// Removes the step containers of builds whose process has exited (a killed Build-ContainerImage): they are
    /// valid records, so nothing else would take them away. A live build's containers are left alone.
    /// </summary>
    /// <param name="records">The store's records as Repair read them (labels do not change after create).</param>
    private List<string> RemoveEndedBuildContainers(IEnumerable<ContainerRecord> records)
    {
        var removed = new List<string>();
        foreach (var record in records.Where(r => BuildContainers.OfEndedBuild(r.Options.Labels)))
        {
            try
            {
                Remove(record.Id, force: true, removeVolumes: true);
                removed.Add($"build container {record.Name}");
            }
            catch (EngineException)
            {
                // removed meanwhile, or its removal failed: the next repair tries again
            }
        }
        return removed;
    }
}
