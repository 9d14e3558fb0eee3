namespace PSContainer.Engine.Containers;

/// <summary>docker run's isolation and resource options beyond the basic limits (see <see cref="IsolationSpec"/>).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>All capabilities, no seccomp filter, every host device, writable /sys and /proc/sys (docker --privileged).</summary>
    public bool Privileged { get; set; }
    /// <summary>Capabilities added to (or, with ALL, all of) docker's default set; names with or without CAP_.</summary>
    public List<string> CapAdd { get; set; } = new();
    /// <summary>Capabilities removed from the default set; ALL starts from none.</summary>
    public List<string> CapDrop { get; set; } = new();
    /// <summary>Host devices: /dev/host[:/dev/container][:rwm].</summary>
    public List<string> Devices { get; set; } = new();
    /// <summary>Namespaced kernel parameters (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*).</summary>
    public Dictionary<string, string> Sysctls { get; set; } = new();
    /// <summary>Resource limits of the process: name=soft[:hard] (nofile=1024:2048); -1 is unlimited.</summary>
    public List<string> Ulimits { get; set; } = new();
    /// <summary>Size of /dev/shm in bytes (docker's default: 64 MiB).</summary>
    public long? ShmSize { get; set; }
    /// <summary>null (its own), host, or container:NAME.</summary>
    public string? PidMode { get; set; }
    /// <summary>null or private (its own), shareable (others may join it), host, or container:NAME.</summary>
    public string? IpcMode { get; set; }
    /// <summary>null (its own) or host.</summary>
    public string? UtsMode { get; set; }
    public string? CpusetCpus { get; set; }
    public string? CpusetMems { get; set; }
    /// <summary>The soft memory limit (memory.soft_limit_in_bytes / memory.low).</summary>
    public long? MemoryReservation { get; set; }
    public long? MemorySwappiness { get; set; }
    public bool OomKillDisable { get; set; }
    public int? OomScoreAdj { get; set; }
    public int? BlkioWeight { get; set; }
    /// <summary>Run a tiny init as pid 1 that reaps zombies and forwards signals (docker run --init).</summary>
    public bool Init { get; set; }
}
