using System.Globalization;

namespace PSContainer.Engine.Containers;

/// <summary>A process of a container (docker top), as the host's /proc shows it.</summary>
public sealed class ContainerProcess
{
    public string ContainerId { get; init; } = "";
    public string ContainerName { get; init; } = "";
    /// <summary>The pid on the host.</summary>
    public int Pid { get; init; }
    /// <summary>The pid in the container's pid namespace (the last NSpid of /proc/PID/status).</summary>
    public int ContainerPid { get; init; }
    public int ParentPid { get; init; }
    /// <summary>The effective uid as the container sees it (mapped back through its user namespace).</summary>
    public long Uid { get; init; }
    /// <summary>The uid's name in the container's /etc/passwd, or the uid when it has none.</summary>
    public string User { get; init; } = "";
    /// <summary>User plus system CPU time.</summary>
    public TimeSpan CpuTime { get; init; }
    public DateTime StartTime { get; init; }
    public string[] CommandLine { get; init; } = [];
    /// <summary>The command line as one string; a kernel thread or a zombie has none, so its name in brackets.</summary>
    public string Command { get; init; } = "";

    public override string ToString() => Command;

    /// <summary>/proc/PID/status fields: the innermost NSpid, PPid and the effective Uid.</summary>
    public static (int NsPid, int ParentPid, long EffectiveUid) ParseStatus(string status)
    {
        int nsPid = 0, ppid = 0;
        long euid = 0;
        foreach (string line in status.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon];
            string[] f = line[(colon + 1)..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0) continue;
            if (key == "NSpid") nsPid = int.Parse(f[^1], CultureInfo.InvariantCulture);
            else if (key == "PPid") ppid = int.Parse(f[0], CultureInfo.InvariantCulture);
            else if (key == "Uid" && f.Length > 1) euid = long.Parse(f[1], CultureInfo.InvariantCulture);
        }
        return (nsPid, ppid, euid);
    }

    /// <summary>/proc/PID/stat: utime and stime (fields 14, 15) and starttime (22), in clock ticks.</summary>
    public static (long UserTicks, long SystemTicks, long StartTicks, string Comm) ParseStat(string stat)
    {
        int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
        string comm = stat[(open + 1)..close];
        // comm may hold spaces and parentheses: the fields after it start after the last ')'; rest[0] is field 3.
        string[] rest = stat[(close + 2)..].Split(' ');
        return (long.Parse(rest[11], CultureInfo.InvariantCulture), long.Parse(rest[12], CultureInfo.InvariantCulture),
            long.Parse(rest[19], CultureInfo.InvariantCulture), comm);
    }

    /// <summary>
    /// A host uid as the container sees it, through uid_map lines "inside outside count"; the host uid itself without
    /// a map entry (no user namespace maps everything to itself).
    /// </summary>
    public static long MapToContainer(long hostUid, string uidMap)
    {
        foreach (string line in uidMap.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3) continue;
            long inside = long.Parse(f[0], CultureInfo.InvariantCulture), outside = long.Parse(f[1], CultureInfo.InvariantCulture),
                count = long.Parse(f[2], CultureInfo.InvariantCulture);
            if (hostUid >= outside && hostUid < outside + count) return inside + (hostUid - outside);
        }
        return hostUid;
    }
}
