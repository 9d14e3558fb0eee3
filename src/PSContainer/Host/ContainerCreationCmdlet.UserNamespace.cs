using System.Management.Automation;

namespace PSContainer.Host;

public abstract partial class ContainerCreationCmdlet
{
    /// <summary>
    /// The container's user namespace: Host (none, docker's default), Auto (a private range of 65536 host ids from the
    /// pscontainer user's /etc/subuid and /etc/subgid entries, podman's --userns=auto), or containeruid:hostuid:count.
    /// Without it: $env:PSCONTAINER_USERNS, else Host.
    /// </summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("Userns")]
    public string? UserNamespace { get; set; }
}
