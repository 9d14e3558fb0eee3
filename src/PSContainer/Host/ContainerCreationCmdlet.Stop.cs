using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>How the container is stopped (docker run --stop-signal, --stop-timeout).</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>The signal Stop-Container sends first: SIGTERM unless the image says otherwise.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? StopSignal { get; set; }

    /// <summary>Seconds Stop-Container waits after the stop signal before SIGKILL (default 10).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateRange(0, 3600)]
    public int? StopTimeout { get; set; }

    private void AddStopOptions(ContainerOptions o)
    {
        o.StopSignal = StopSignal;
        o.StopTimeout = StopTimeout;
    }
}
