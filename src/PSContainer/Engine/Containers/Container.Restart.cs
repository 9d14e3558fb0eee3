namespace PSContainer.Engine.Containers;

public sealed partial class Container
{
    /// <summary>no, on-failure[:N], always or unless-stopped (docker's HostConfig.RestartPolicy).</summary>
    public string RestartPolicy { get; init; } = "no";

    /// <summary>How often the restart policy restarted it since the user last started it (docker's RestartCount).</summary>
    public int RestartCount { get; init; }
}
