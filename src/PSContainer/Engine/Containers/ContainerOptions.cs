namespace PSContainer.Engine.Containers;

/// <summary>Everything New-Container takes; stored with the container so every start builds the same spec.</summary>
public sealed class ContainerOptions
{
    public string Image { get; set; } = "";
    public string? Name { get; set; }
    /// <summary>Replaces the image's Cmd (docker run IMAGE COMMAND...).</summary>
    public string[]? Command { get; set; }
    /// <summary>Replaces the image's Entrypoint; when given, the image's Cmd is dropped too (docker's rule).</summary>
    public string[]? Entrypoint { get; set; }
    public Dictionary<string, string> Environment { get; set; } = new();
    public string? WorkingDirectory { get; set; }
    public string? User { get; set; }
    public string? Hostname { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public long? Memory { get; set; }
    /// <summary>Memory plus swap; -1 for unlimited swap. Docker's default when only Memory is set is twice Memory.</summary>
    public long? MemorySwap { get; set; }
    public double? Cpus { get; set; }
    public long? CpuShares { get; set; }
    public long? PidsLimit { get; set; }
    /// <summary>host:container[:ro] bind mounts.</summary>
    public List<string> Volumes { get; set; } = new();
    /// <summary>/path[:options] tmpfs mounts.</summary>
    public List<string> Tmpfs { get; set; } = new();
    public bool ReadOnly { get; set; }
    public string Network { get; set; } = "none";
    /// <summary>psc (ours, the default) or runc, or a path to an OCI runtime binary.</summary>
    public string Runtime { get; set; } = "psc";
    public bool AutoRemove { get; set; }
    /// <summary>The cgroup parent, fixed at creation so a later change of environment cannot orphan the cgroup.</summary>
    public string? CgroupParent { get; set; }
}
