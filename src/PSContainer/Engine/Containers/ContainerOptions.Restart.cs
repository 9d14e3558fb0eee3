namespace PSContainer.Engine.Containers;

/// <summary>What happens when the container exits (docker run --restart).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>no (null), on-failure[:N], always or unless-stopped, in its canonical spelling.</summary>
    public string? RestartPolicy { get; set; }

    /// <summary>
    /// Checks -RestartPolicy at creation and stores it canonical (null for no). A policy that restarts and
    /// -AutoRemove contradict each other, as docker's --restart with --rm.
    /// </summary>
    public static void ValidateRestart(ContainerOptions o)
    {
        var policy = RestartPolicySpec.Parse(o.RestartPolicy);
        if (!policy.IsNone && o.AutoRemove)
            throw new EngineException("RestartPolicyConflict", ErrorKind.InvalidArgument, o.RestartPolicy,
                $"Conflicting options: -RestartPolicy {policy} and -AutoRemove (a container removed when it exits cannot be restarted).");
        o.RestartPolicy = policy.IsNone ? null : policy.ToString();
    }
}
