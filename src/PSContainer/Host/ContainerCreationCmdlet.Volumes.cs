using System.Management.Automation;

namespace PSContainer.Host;

public abstract partial class ContainerCreationCmdlet
{
    /// <summary>
    /// docker --mount CSV: type=volume,source=NAME,target=/path[,readonly][,volume-nocopy];
    /// type=bind,source=/host,target=/path[,readonly] (the source must exist); type=tmpfs,target=/path[,tmpfs-size=64m][,tmpfs-mode=1777].
    /// </summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Mount { get; set; }
}
