using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>docker run --volumes-from.</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>
    /// Mount the volumes and binds of other containers (existing or stopped) at the same paths: CONTAINER, CONTAINER:ro
    /// (all read-only) or CONTAINER:rw (each keeps its own mode).
    /// </summary>
    [Parameter(ParameterSetName = RunSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? VolumesFrom { get; set; }

    private void AddVolumesFromOptions(ContainerOptions o) => o.VolumesFrom = (VolumesFrom ?? []).ToList();
}
