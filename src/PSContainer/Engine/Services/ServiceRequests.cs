using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;

namespace PSContainer.Engine.Services;

/// <summary>docker wait's conditions: the container is not running now, its next exit, or its removal; and (Wait-Container
/// -Condition Healthy) its healthcheck passing.</summary>
public enum WaitCondition { NotRunning, NextExit, Removed, Healthy }

/// <summary>How a waited-for container ended (docker's wait response: a status code and an error text), with what
/// Wait-Container reports beyond it.</summary>
public sealed record WaitResult(string Id, int StatusCode, string? Error)
{
    public string Name { get; init; } = "";
    public bool OOMKilled { get; init; }
    public DateTime? FinishedAt { get; init; }
    /// <summary>NotRunning found a container that was never started: docker answers 0 at once, the cmdlets call it an error.</summary>
    public bool NotStarted { get; init; }
    /// <summary>Healthy: the container as it was when its healthcheck passed.</summary>
    public Container? Container { get; init; }

    public ContainerExit ToExit() => new(Id, Name, StatusCode, OOMKilled, FinishedAt);
}

/// <summary>Which containers a listing returns (docker ps: -a, -n and --filter).</summary>
public sealed class ContainerQuery
{
    /// <summary>Stopped and created containers too, not only running ones.</summary>
    public bool All { get; init; }
    /// <summary>Only the newest N (of all states, as docker ps -n).</summary>
    public int? Limit { get; init; }
    /// <summary>Filter name to the values any of which must match: id, name, label, status.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Filters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>What docker logs asks for.</summary>
public sealed class LogQuery
{
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    public bool Follow { get; init; }
    /// <summary>Only the last N records (null = all).</summary>
    public int? Tail { get; init; }
    /// <summary>Only records at or after this time.</summary>
    public DateTime? Since { get; init; }
    /// <summary>Only records before this time.</summary>
    public DateTime? Until { get; init; }
}

/// <summary>docker run in one call: create (pulling the image as Pull says), start, and unless detached follow the
/// output to <see cref="Output"/> (or hand the container to <see cref="Terminal"/>), wait for the exit, and remove
/// the container when AutoRemove is set. The callbacks run on the caller's thread, in order.</summary>
public sealed class RunRequest
{
    public required ContainerOptions Options { get; init; }
    /// <summary>missing (docker's default), always or never; null when the front end made sure of the image itself
    /// (Start-Container pulls with PowerShell's progress display).</summary>
    public string? Pull { get; init; } = "missing";
    public string? Platform { get; init; }
    public bool Detach { get; init; }
    public IProgress<ProgressInfo>? PullProgress { get; init; }
    /// <summary>Each record of the container's output as it comes (stdout and stderr).</summary>
    public Action<ContainerLogRecord>? Output { get; init; }
    /// <summary>Told of the container once it exists (a failure before this call means nothing was made).</summary>
    public Action<Container>? Created { get; init; }
    /// <summary>Told of the container once it was started.</summary>
    public Action<Container>? Started { get; init; }
    /// <summary>docker run -it: the front end's terminal session with the started container, in place of
    /// <see cref="Output"/> and the wait; returns the exit code, or null when the user detached.</summary>
    public Func<string, CancellationToken, int?>? Terminal { get; init; }
    /// <summary>docker run -i without -t: the input for the stdin pipe of a container made with
    /// <see cref="Containers.ContainerOptions.Interactive"/> and no terminal, relayed from the start of its run while
    /// its output is followed; the end of this stream closes the container's stdin when it has StdinOnce.</summary>
    public Stream? Stdin { get; init; }
}

/// <summary>What a run ended with: the container as created (or started, when detached) and, unless detached, its exit.</summary>
public sealed record RunResult(Container Container, int? ExitCode, bool Removed);

/// <summary>A container with what it was created from and what it holds on its networks (docker inspect's parts).</summary>
public sealed record ContainerDetails(
    Container Container,
    ContainerOptions Options,
    IReadOnlyList<Networks.PortMapping> Ports,
    IReadOnlyList<Networks.NetworkEndpoint> Endpoints);
