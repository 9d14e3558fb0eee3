using System.Collections;
using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>docker run's isolation and resource options, checked and applied by the engine (IsolationSpec).</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>All capabilities, no seccomp filter, every host device, writable /sys and /proc/sys (docker run --privileged).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter Privileged { get; set; }

    /// <summary>Capabilities to add to docker's default set: NET_ADMIN or CAP_NET_ADMIN, or ALL.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ArgumentCompleter(typeof(CapabilityCompleter))]
    public string[]? CapAdd { get; set; }

    /// <summary>Capabilities to remove from the default set; ALL removes every one.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ArgumentCompleter(typeof(CapabilityCompleter))]
    public string[]? CapDrop { get; set; }

    /// <summary>Host devices: /dev/host[:/dev/container][:rwm].</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Device { get; set; }

    /// <summary>Namespaced kernel parameters: @{ 'net.ipv4.ip_forward' = 1 }.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public Hashtable? Sysctl { get; set; }

    /// <summary>Process limits: nofile=1024:2048, nproc=512.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string[]? Ulimit { get; set; }

    /// <summary>Size of /dev/shm: 256MB or 256m.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [SizeTransformation]
    public long? ShmSize { get; set; }

    /// <summary>The pid namespace: host, or container:NAME to share another container's.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? Pid { get; set; }

    /// <summary>The IPC namespace: private (the default), shareable, none, host, or container:NAME.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? Ipc { get; set; }

    /// <summary>The UTS namespace: host to use the host's name.</summary>
    [Parameter(ParameterSetName = RunSet)]
    [ValidateSet("host")]
    public string? Uts { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public string? CpusetCpus { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public string? CpusetMems { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    [SizeTransformation]
    public long? MemoryReservation { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public long? MemorySwappiness { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter OomKillDisable { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public int? OomScoreAdj { get; set; }

    [Parameter(ParameterSetName = RunSet)]
    public int? BlkioWeight { get; set; }

    /// <summary>Run a small init as pid 1 that forwards signals and reaps zombies (docker run --init).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter Init { get; set; }

    private void AddIsolationOptions(ContainerOptions o)
    {
        o.Privileged = Privileged;
        o.CapAdd = (CapAdd ?? []).ToList();
        o.CapDrop = (CapDrop ?? []).ToList();
        o.Devices = (Device ?? []).ToList();
        o.Sysctls = Sysctl?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "", StringComparer.Ordinal) ?? new();
        o.Ulimits = (Ulimit ?? []).ToList();
        o.ShmSize = ShmSize;
        o.PidMode = Pid;
        o.IpcMode = Ipc;
        o.UtsMode = Uts;
        o.CpusetCpus = CpusetCpus;
        o.CpusetMems = CpusetMems;
        o.MemoryReservation = MemoryReservation;
        o.MemorySwappiness = MemorySwappiness;
        o.OomKillDisable = OomKillDisable;
        o.OomScoreAdj = OomScoreAdj;
        o.BlkioWeight = BlkioWeight;
        o.Init = Init;
    }
}

/// <summary>Completes capability names for -CapAdd and -CapDrop.</summary>
public sealed class CapabilityCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = wordToComplete.Trim('\'', '"').ToUpperInvariant();
        foreach (string cap in IsolationSpec.AllCapabilities.Select(c => c[4..]).Append("ALL"))
            if (cap.StartsWith(prefix, StringComparison.Ordinal) || ("CAP_" + cap).StartsWith(prefix, StringComparison.Ordinal))
                yield return new CompletionResult(cap, cap, CompletionResultType.ParameterValue, cap);
    }
}
