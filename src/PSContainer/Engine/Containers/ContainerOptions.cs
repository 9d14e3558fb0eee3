namespace PSContainer.Engine.Containers;

/// <summary>Everything New-Container takes; stored with the container so every start builds the same spec.</summary>
public sealed partial class ContainerOptions
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
    /// <summary>bridge (the default network), a network's name or id, none, host, or container:&lt;name|id&gt;.</summary>
    public string Network { get; set; } = "bridge";
    /// <summary>A static address on the network.</summary>
    public string? IPAddress { get; set; }
    /// <summary>More names the container answers to on its network.</summary>
    public List<string> NetworkAliases { get; set; } = new();
    /// <summary>[hostIp:][hostPort:]containerPort[/tcp|udp] specs.</summary>
    public List<string> Publish { get; set; } = new();
    /// <summary>Publish every port the image exposes on a random host port.</summary>
    public bool PublishAll { get; set; }
    public List<string> DnsServers { get; set; } = new();
    /// <summary>name:ip entries for /etc/hosts.</summary>
    public List<string> AddHosts { get; set; } = new();
    /// <summary>psc (ours, the default) or runc, or a path to an OCI runtime binary.</summary>
    public string Runtime { get; set; } = "psc";
    public bool AutoRemove { get; set; }
    /// <summary>The cgroup parent, fixed at creation so a later change of environment cannot orphan the cgroup.</summary>
    public string? CgroupParent { get; set; }
}
