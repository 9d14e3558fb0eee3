using System.Globalization;

namespace PSContainer.Engine.Containers;

/// <summary>The processes of a running container (docker top), read from its cgroup and /proc.</summary>
public sealed partial class ContainerManager
{
    public IReadOnlyList<ContainerProcess> Processes(string idOrName)
    {
        var record = ReconcileIfIdle(Resolve(idOrName))
                     ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
        if (record.State is not (ContainerState.Running or ContainerState.Paused) || record.Pid <= 0)
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, record.Name, $"Container {record.Name} is not running.");

        var pids = new SortedSet<int>();
        // Every hierarchy holds the same processes; the first one that has the cgroup is enough. Sub-cgroups a
        // process in the container made (a nested runtime) hold its processes too.
        string? dir = Cgroups.Directories(CgroupPath(record)).FirstOrDefault(d => File.Exists(Path.Combine(d, "cgroup.procs")));
        if (dir is not null)
        {
            foreach (string procs in Directory.EnumerateFiles(dir, "cgroup.procs", SearchOption.AllDirectories))
                foreach (string line in ReadLinesIfExists(procs))
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) pids.Add(pid);
        }

        string uidMap = ReadIfExists($"/proc/{record.Pid}/uid_map") ?? "";
        IReadOnlyList<string[]> passwd;
        try
        {
            passwd = RuntimeSpecBuilder.ReadPasswd($"/proc/{record.Pid}/root");
        }
        catch (EngineException)
        {
            passwd = []; // an unreadable /etc/passwd: uids are shown as numbers
        }
        long bootTime = BootTimeSeconds();
        var result = new List<ContainerProcess>();
        foreach (int pid in pids)
        {
            string? status = ReadIfExists($"/proc/{pid}/status"), stat = ReadIfExists($"/proc/{pid}/stat");
            if (status is null || stat is null) continue; // exited while we looked
            string cmdline = ReadIfExists($"/proc/{pid}/cmdline") ?? "";
            var (nsPid, ppid, hostUid) = ContainerProcess.ParseStatus(status);
            var (utime, stime, start, comm) = ContainerProcess.ParseStat(stat);
            long uid = ContainerProcess.MapToContainer(hostUid, uidMap);
            string uidText = uid.ToString(CultureInfo.InvariantCulture);
            string[] argv = cmdline.TrimEnd('\0').Split('\0', StringSplitOptions.None);
            if (cmdline.Length == 0) argv = [];
            result.Add(new ContainerProcess
            {
                ContainerId = record.Id,
                ContainerName = record.Name,
                Pid = pid,
                ContainerPid = nsPid,
                ParentPid = ppid,
                Uid = uid,
                User = passwd.FirstOrDefault(p => p[2] == uidText)?[0] ?? uidText,
                CpuTime = TimeSpan.FromSeconds((utime + stime) / (double)UserHz),
                StartTime = DateTime.UnixEpoch.AddSeconds(bootTime + start / (double)UserHz),
                CommandLine = argv,
                Command = argv.Length > 0 ? string.Join(' ', argv) : $"[{comm}]",
            });
        }
        return result;
    }

    private static string? ReadIfExists(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static IEnumerable<string> ReadLinesIfExists(string path) => (ReadIfExists(path) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>btime of /proc/stat: when the system booted, in seconds since the epoch.</summary>
    private static long BootTimeSeconds()
    {
        foreach (string line in File.ReadLines("/proc/stat"))
            if (line.StartsWith("btime ", StringComparison.Ordinal)) return long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
        return 0;
    }
}
