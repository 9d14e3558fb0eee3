using PSContainer.Engine.Images;

namespace PSContainer.Engine.Build;

/// <summary>What Build-ContainerImage takes (docker build's options).</summary>
public sealed class BuildOptions
{
    /// <summary>The build context: the directory COPY and ADD read from.</summary>
    public string ContextDirectory { get; init; } = ".";
    /// <summary>The Dockerfile; relative to the context when not rooted. Default: Dockerfile in the context.</summary>
    public string? Dockerfile { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();
    /// <summary>The stage to build (its name); default the last stage.</summary>
    public string? Target { get; init; }
    /// <summary>Labels set on the final image after the Dockerfile's own (docker build --label).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public bool NoCache { get; init; }
    /// <summary>Pull every FROM image even when it is in the store.</summary>
    public bool Pull { get; init; }
    /// <summary>The platform to build for (os/arch[/variant]); default the host's. A foreign architecture is refused: steps run natively.</summary>
    public string? Platform { get; init; }
    /// <summary>Secrets RUN --mount=type=secret,id=ID may mount: id to a host file. Never in a layer nor in a cache key.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// Secrets given by value (docker build --secret id=ID,env=NAME: the variable's value, read by the caller): each is
    /// written to a file of the build's own temp directory (root-only) for the build's length. Never in a layer nor in
    /// a cache key; an id here wins over the same id in <see cref="Secrets"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> SecretValues { get; init; } = new Dictionary<string, string>();
    /// <summary>The network RUN steps have: none, bridge (the default, as docker build's) or host.</summary>
    public string Network { get; init; } = "bridge";
    /// <summary>Step progress (the step number, how many, what it is).</summary>
    public IProgress<BuildProgress>? Progress { get; init; }
    /// <summary>Each line a RUN step writes, as it is written (stream "stdout" or "stderr").</summary>
    public Action<string, string>? Output { get; init; }
    /// <summary>Notes for the user (a directive ignored, a step taken from the cache).</summary>
    public Action<string>? Note { get; init; }
    public CancellationToken Cancel { get; init; }
}

/// <summary>One step of a build as progress shows it.</summary>
public sealed record BuildProgress(int Step, int Steps, string Stage, string Text, bool Cached);

/// <summary>Pulls an image that a FROM names and the store does not have (or every one with -Pull).</summary>
public delegate ContainerImage ImagePull(string reference, string? platform, CancellationToken cancel);
