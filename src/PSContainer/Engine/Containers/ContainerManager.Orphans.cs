using PSContainer.Engine.Storage;
using System.Text.RegularExpressions;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Containers the host still runs but no record of this state root accounts for: the root was deleted (a user
/// resetting the engine with rm -rf) while they ran, or a removal was killed between its record and its clean-up.
/// Repair-ContainerState stops them and removes their runtime state and cgroups — but only those it can prove are
/// this root's, since the cgroup parent may be shared with other state roots.
/// </summary>
public sealed partial class ContainerManager
{
    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex ContainerIdPattern();

    /// <summary>Removes runtime states and cgroups of containers without a record; returns what it removed.</summary>
    private List<string> RemoveOrphanRuns(ISet<string> known)
    {
        var removed = new List<string>();
        bool Orphan(string id) => ContainerIdPattern().IsMatch(id) && !known.Contains(id) && store.ById(id) is null;

        // Runtime states in this root's run directory are this root's by where they are.
        string runtimes = Path.Combine(paths.RunRoot, "runtime");
        if (Directory.Exists(runtimes))
        {
            foreach (string runtimeDir in Directory.GetDirectories(runtimes))
            {
                foreach (string id in Directory.GetDirectories(runtimeDir).Select(Path.GetFileName).OfType<string>().Where(Orphan))
                {
                    KillMonitorOf(id);
                    try
                    {
                        RuntimeFor(Path.GetFileName(runtimeDir)).Delete(id, force: true);
                    }
                    catch (EngineException)
                    {
                        // That runtime is no longer installed: its cgroup is found below all the same.
                    }
                    if (Directory.Exists(Path.Combine(runtimeDir, id))) LayerStore.DeleteTree(Path.Combine(runtimeDir, id));
                    removed.Add($"runtime state {id}");
                }
            }
        }

        // Their run directories (pid and exit files) once nothing runs.
        string runDirs = Path.Combine(paths.RunRoot, "containers");
        if (Directory.Exists(runDirs))
        {
            foreach (string id in Directory.GetDirectories(runDirs).Select(Path.GetFileName).OfType<string>().Where(Orphan))
            {
                KillMonitorOf(id);
                LayerStore.DeleteTree(Path.Combine(runDirs, id));
                removed.Add($"run directory {id}");
            }
        }

        // Cgroups under the parent: this root's if a process in it runs on an overlay whose upper directory is in
        // this root; an empty one that is not brand new is nobody's (a container's cgroup lives while it runs).
        string upperPrefix = "upperdir=" + Path.Combine(paths.Root, "containers") + "/";
        var candidates = Cgroups.Directories("/" + CgroupParent)
            .SelectMany(Directory.GetDirectories)
            .Select(Path.GetFileName).OfType<string>().Where(Orphan).Distinct(StringComparer.Ordinal).ToList();
        foreach (string id in candidates)
        {
            string path = $"/{CgroupParent}/{id}";
            var dirs = Cgroups.Directories(path);
            var pids = dirs.SelectMany(d => ReadPids(Path.Combine(d, "cgroup.procs"))).Distinct().ToList();
            bool ours = pids.Count > 0
                ? pids.Any(pid => RootMountOptions(pid)?.Contains(upperPrefix, StringComparison.Ordinal) == true)
                : dirs.All(d => Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddMinutes(-1));
            if (!ours) continue;
            KillMonitorOf(id);
            RemoveCgroup(path);
            removed.Add($"cgroup {path}");
        }
        return removed;
    }

    private static IEnumerable<int> ReadPids(string procsFile)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(procsFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (string line in lines)
            if (int.TryParse(line, out int pid)) yield return pid;
    }

    /// <summary>The super options of the mount a process sees as its root (for an overlay: its lower, upper and work directories).</summary>
    private static string? RootMountOptions(int pid)
    {
        try
        {
            string? options = null;
            foreach (string line in File.ReadLines($"/proc/{pid}/mountinfo"))
            {
                // id parent major:minor root mountpoint options [optional...] - fstype source superoptions;
                // the last mount on / is the one the process sees.
                string[] fields = line.Split(' ');
                if (fields.Length < 5 || fields[4] != "/") continue;
                int dash = Array.IndexOf(fields, "-");
                options = dash >= 0 && dash + 3 < fields.Length ? fields[dash + 3] : null;
            }
            return options;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
