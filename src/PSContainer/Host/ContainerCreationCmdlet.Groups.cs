using System.Management.Automation;

namespace PSContainer.Host;

public abstract partial class ContainerCreationCmdlet
{
    /// <summary>More supplementary groups (docker run --group-add): names from the container's /etc/group, or ids.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateNotNullOrEmpty]
    public string[]? GroupAdd { get; set; }
}
