namespace PSContainer.Engine.Containers;

public sealed partial class Container
{
    /// <summary>The healthcheck's status and last results (docker's State.Health); null without a healthcheck or before
    /// its first start. Read from the file the container's monitor writes, so every session sees the same.</summary>
    public ContainerHealth? Health { get; init; }

    /// <summary>docker ps's suffix of a running container with a healthcheck: " (healthy)", " (health: starting)".</summary>
    private string HealthSuffix => Health?.Status switch
    {
        "starting" => " (health: starting)",
        "healthy" => " (healthy)",
        "unhealthy" => " (unhealthy)",
        _ => "",
    };
}
