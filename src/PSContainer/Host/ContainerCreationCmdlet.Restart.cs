using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>What happens when the container exits (docker run --restart).</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>no (the default), on-failure[:N], always or unless-stopped; carried out by the container's monitor.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? RestartPolicy { get; set; }

    private void AddRestartOptions(ContainerOptions o) => o.RestartPolicy = RestartPolicy;
}
