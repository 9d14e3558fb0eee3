namespace PSContainer.Engine.Containers;

/// <summary>Restarting: exited, and waiting out the restart policy's backoff before it is started again.</summary>
public enum ContainerState { Created, Running, Paused, Exited, Dead, Restarting }

/// <summary>A mount of a container: a bind mount of a host path or a tmpfs.</summary>
public sealed record ContainerMount(string Type, string Source, string Destination, bool ReadOnly, string Options = "")
{
    public override string ToString() => Type == "tmpfs" ? $"tmpfs:{Destination}" : $"{Source}:{Destination}{(ReadOnly ? ":ro" : "")}";
}

/// <summary>The resource limits a container was created with (null = unlimited).</summary>
public sealed record ContainerLimits(long? Memory, long? MemorySwap, double? Cpus, long? CpuShares, long? PidsLimit)
{
    public override string ToString()
    {
        var parts = new List<string>();
        if (Memory is long m) parts.Add($"memory={m}");
        if (MemorySwap is long s) parts.Add($"memory+swap={s}");
        if (Cpus is double c) parts.Add($"cpus={c:0.###}");
        if (CpuShares is long sh) parts.Add($"shares={sh}");
        if (PidsLimit is long p) parts.Add($"pids={p}");
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }
}

/// <summary>A container: what it was made from and how it runs, and its state as the engine last saw it.</summary>
public sealed partial class Container
{
    public string Id { get; init; } = "";
    public string ShortId => Id.Length >= 12 ? Id[..12] : Id;
    public string Name { get; init; } = "";
    /// <summary>The image as the user named it.</summary>
    public string Image { get; init; } = "";
    public string ImageId { get; init; } = "";
    /// <summary>The process: entrypoint and command after docker's override rules.</summary>
    public string[] Command { get; init; } = [];
    public DateTime Created { get; init; }
    public ContainerState State { get; init; }
    /// <summary>docker ps's STATUS text: "Up 5 minutes", "Exited (0) 2 seconds ago", "Created".</summary>
    public string Status => StatusText(DateTime.UtcNow);
    public int? ExitCode { get; init; }
    public bool OOMKilled { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    /// <summary>The container's init process as the host sees it (0 when not running).</summary>
    public int Pid { get; init; }
    /// <summary>Why the last start failed, or what is wrong with a container the engine cannot account for.</summary>
    public string? Error { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public ContainerMount[] Mounts { get; init; } = [];
    public ContainerLimits Limits { get; init; } = new(null, null, null, null, null);
    public string Hostname { get; init; } = "";
    public string[] Environment { get; init; } = [];
    public string WorkingDirectory { get; init; } = "/";
    public string User { get; init; } = "";
    public bool ReadOnly { get; init; }
    /// <summary>none, host (bridge networks come with container networking).</summary>
    public string NetworkMode { get; init; } = "none";
    public string[] Networks { get; init; } = [];
    public string? IPAddress { get; init; }
    public string[] Ports { get; init; } = [];
    public string Runtime { get; init; } = "psc";
    public bool AutoRemove { get; init; }
    public string LogPath { get; init; } = "";
    /// <summary>host (no user namespace), or the container's id maps as containeruid:hostuid:count.</summary>
    public string UserNamespace { get; init; } = "host";

    public string StatusText(DateTime nowUtc) => State switch
    {
        ContainerState.Running => $"Up {Humanize(nowUtc - (StartedAt ?? nowUtc))}{HealthSuffix}",
        ContainerState.Paused => $"Up {Humanize(nowUtc - (StartedAt ?? nowUtc))} (Paused)",
        ContainerState.Exited => $"Exited ({ExitCode ?? -1}) {Humanize(nowUtc - (FinishedAt ?? nowUtc))} ago",
        ContainerState.Dead => "Dead" + (Error is null ? "" : $" ({Error})"),
        ContainerState.Restarting => $"Restarting ({ExitCode ?? -1}) {Humanize(nowUtc - (FinishedAt ?? nowUtc))} ago",
        _ => "Created",
    };

    /// <summary>Docker's units.HumanDuration wording.</summary>
    public static string Humanize(TimeSpan d)
    {
        double s = Math.Max(0, d.TotalSeconds);
        if (s < 1) return "Less than a second";
        if (s < 2) return "1 second";
        if (s < 60) return $"{(int)s} seconds";
        double m = d.TotalMinutes;
        if (m < 2) return "About a minute";
        if (m < 60) return $"{(int)m} minutes";
        double h = d.TotalHours;
        if (Math.Round(h) == 1) return "About an hour";
        if (h < 48) return $"{(int)h} hours";
        if (h < 24 * 7 * 2) return $"{(int)(h / 24)} days";
        if (h < 24 * 30 * 2) return $"{(int)(h / 24 / 7)} weeks";
        if (h < 24 * 365 * 2) return $"{(int)(h / 24 / 30)} months";
        return $"{(int)(h / 24 / 365)} years";
    }

    public override string ToString() => Name;
}

/// <summary>What Wait-Container returns.</summary>
public sealed record ContainerExit(string Id, string Name, int ExitCode, bool OOMKilled, DateTime? FinishedAt);
