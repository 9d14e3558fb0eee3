using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;

namespace PSContainer.Engine.Services;

// What the cmdlets ask of containers in their own shape (no Docker API endpoint does the same): every container in
// the store's order, commit, the engine's disk-usage totals and the state repair.
public sealed partial class ContainerService
{
    /// <summary>Every container, reconciled, in the store's order (Get-Container's; docker ps's order is <see cref="List"/>'s).</summary>
    public IReadOnlyList<Container> ListAll() => Manager.List();

    /// <summary>docker commit: the container's changes as a new layer on top of its image.</summary>
    public ContainerImage Commit(string idOrName, CommitOptions options) => Manager.Commit(ResolveId(idOrName), options);

    /// <summary>docker system df's totals: images, containers and volumes, each with what removing the unused frees.</summary>
    public IReadOnlyList<ContainerDiskUsage> DiskUsageTotals() => Manager.DiskUsage();

    /// <summary>Repair-ContainerState's first step: undoes what killed or crashed operations left; what was removed.</summary>
    public IReadOnlyList<string> Repair() => Manager.Repair();

    /// <summary>Starts the containers a reboot or a killed psc-service left stopped that their restart policy keeps running.</summary>
    public IReadOnlyList<string> StartRestartable() => Manager.StartRestartable(boot: false);
}
