using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>The healthcheck (docker run --health-cmd, --health-interval, --health-timeout, --health-retries,
/// --health-start-period, --health-start-interval, --no-healthcheck).</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>The check: one string runs under /bin/sh -c (CMD-SHELL), several are the command and its arguments (CMD).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("HealthCmd")]
    public string[]? HealthCommand { get; set; }

    /// <summary>Time between checks (default 30s): a TimeSpan or docker's 30s, 500ms.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [DurationTransformation]
    public TimeSpan? HealthInterval { get; set; }

    /// <summary>How long one check may run before it counts as failed and is killed (default 30s).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [DurationTransformation]
    public TimeSpan? HealthTimeout { get; set; }

    /// <summary>Consecutive failures before the container is unhealthy (default 3).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public int? HealthRetries { get; set; }

    /// <summary>Time after the start in which failures do not count (default 0).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [DurationTransformation]
    public TimeSpan? HealthStartPeriod { get; set; }

    /// <summary>Time between checks during the start period (default 5s).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [DurationTransformation]
    public TimeSpan? HealthStartInterval { get; set; }

    /// <summary>Runs no healthcheck, not even the image's HEALTHCHECK.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter NoHealthcheck { get; set; }

    private void AddHealthOptions(ContainerOptions o) =>
        o.Healthcheck = ContainerOptions.HealthFromParameters(HealthCommand, HealthInterval, HealthTimeout, HealthStartPeriod,
            HealthStartInterval, HealthRetries, NoHealthcheck);
}
