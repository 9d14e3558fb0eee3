using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>How the container is stopped and how its log is kept (docker run --stop-signal, --stop-timeout, --log-opt).</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>The signal Stop-Container sends first: SIGTERM unless the image says otherwise.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? StopSignal { get; set; }

    /// <summary>Seconds Stop-Container waits after the stop signal before SIGKILL (default 10).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateRange(0, 3600)]
    public int? StopTimeout { get; set; }

    /// <summary>Log rotation (docker run --log-opt): max-size=10m, max-file=3; several per item, comma-separated.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("LogOpt")]
    public string[]? LogOption { get; set; }

    private void AddStopOptions(ContainerOptions o)
    {
        o.StopSignal = StopSignal;
        o.StopTimeout = StopTimeout;
        o.LogOptions = ContainerOptions.ParseLogOptions(LogOption ?? []);
    }
}
