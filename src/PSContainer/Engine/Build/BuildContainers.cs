using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Build;

/// <summary>
/// The containers a build makes for its RUN and COPY --from steps carry the building process as their owner (in
/// TempOwner's pid.start.pidns form), so that a build killed mid-step leaves containers Repair-ContainerState can
/// tell from a live build's and remove, and that a container prune leaves a running build's containers alone.
/// </summary>
public static class BuildContainers
{
    /// <summary>Marks a build step's container (docker's classic builder names them too, as intermediate containers).</summary>
    public const string StepLabel = "io.pscontainer.build";

    /// <summary>The owning build process, as TempOwner writes it.</summary>
    public const string OwnerLabel = "io.pscontainer.build.owner";

    /// <summary>The labels of a container made by this process's build.</summary>
    public static Dictionary<string, string> Labels(string step) => new()
    {
        [StepLabel] = step,
        [OwnerLabel] = TempOwner.NewName("build"),
    };

    /// <summary>Whether a container was made by a build whose process is still there (a prune keeps it).</summary>
    public static bool OfLiveBuild(IReadOnlyDictionary<string, string> labels) =>
        Owner(labels) is { } owner && TempOwner.IsOwnerAlive(owner);

    /// <summary>Whether a container was made by a build whose process has exited (Repair removes it).</summary>
    public static bool OfEndedBuild(IReadOnlyDictionary<string, string> labels) =>
        Owner(labels) is { } owner && TempOwner.IsOrphan(owner);

    /// <summary>The owner of a build step's container: both labels, the owner in the form a build writes. Anything
    /// else (a user's container that merely carries one of the labels) is no build's.</summary>
    private static string? Owner(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(StepLabel, out string? step) && step is "step" or "copy"
        && labels.TryGetValue(OwnerLabel, out string? owner) && owner.StartsWith("build-", StringComparison.Ordinal) ? owner : null;
}
