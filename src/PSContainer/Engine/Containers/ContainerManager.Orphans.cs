using PSContainer.Engine.Storage;
using System.Text.RegularExpressions;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Containers the host still runs but no record of this state root accounts for: the root was deleted (a user
/// resetting the engine with rm -rf) while they ran, or a removal was killed between its record and its clean-up.
/// Repair-ContainerState stops them and removes their runtime state and cgroups — but only those it can prove are
/// this root's: the run root ($env:PSCONTAINER_RUNROOT defaults to one path whatever the state root) and the
/// cgroup parent may be shared with other state roots. Proof is the run directory's owner file (written at every
/// start) naming this root, or a process that runs on an overlay whose upper directory is in this root.
/// </summary>
public sealed partial class ContainerManager
{
    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex ContainerIdPattern();

    /// <summary>Removes runtime states and cgroups of containers without a record; returns what it removed.</summary>
    /// <summary>In a run directory: the state root the run belongs to.</summary>
    private const string OwnerFileName = "root";

    /// <summary>Whether the run directory of <paramref name="id"/> says it belongs to another state root (or to none
    /// it can name: a run directory without the file is from before the file existed, and is left alone).</summary>
    private bool RunOfAnotherRoot(string id)
    {
        string owner = Path.Combine(RunDir(id), OwnerFileName);
        if (!File.Exists(owner)) return Directory.Exists(RunDir(id));
        try
        {
            return File.ReadAllText(owner) != paths.Root;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private List<string> RemoveOrphanRuns(ISet<string> known)
    {
        var removed = new List<string>();
        bool Orphan(string id) => ContainerIdPattern().IsMatch(id) && !known.Contains(id) && store.ById(id) is null;
        bool ProvablyOurs(string id) => Directory.Exists(RunDir(id)) && !RunOfAnotherRoot(id);

        // Runtime states in this root's run directory are this root's by where they are.
        string runtimes = Path.Combine(paths.RunRoot, "runtime");
        if (Directory.Exists(runtimes))
        {
            foreach (string runtimeDir in Directory.GetDirectories(runtimes))
            {
                foreach (string id in Directory.GetDirectories(runtimeDir).Select(Path.GetFileName).OfType<string>().Where(Orphan).Where(ProvablyOurs))
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
            foreach (string id in Directory.GetDirectories(runDirs).Select(Path.GetFileName).OfType<string>().Where(Orphan).Where(ProvablyOurs))
            {
                KillMonitorOf(id);
                LayerStore.DeleteTree(Path.Combine(runDirs, id));
                removed.Add($"run directory {id}");
            }
        }

        // Cgroups under the parent: this root's if a process in it (or in a cgroup below it: a container may nest
        // its own) runs on an overlay whose upper directory is in this root. One without any process is nobody's
        // running container; it is removed (empty, not brand new) but no monitor is touched for it.
        string upperPrefix = "upperdir=" + Path.Combine(paths.Root, "containers") + "/";
        var candidates = Cgroups.Directories("/" + CgroupParent)
            .SelectMany(Directory.GetDirectories)
            .Select(Path.GetFileName).OfType<string>().Where(Orphan).Distinct(StringComparer.Ordinal).ToList();
        foreach (string id in candidates)
        {
            string path = $"/{CgroupParent}/{id}";
            var dirs = Cgroups.Directories(path);
            var pids = dirs.SelectMany(AllPidsBelow).Distinct().ToList();
            if (pids.Count > 0)
            {
                if (!pids.Any(pid => RootMountOptions(pid)?.Contains(upperPrefix, StringComparison.Ordinal) == true)) continue;
                KillMonitorOf(id);
            }
            else if (!dirs.All(d => Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddMinutes(-1)))
            {
                continue;
            }
            CgroupObjects.Remove(path);
            if (Cgroups.Directories(path).Count == 0) removed.Add($"cgroup {path}");
        }
        return removed;
    }

    /// <summary>The processes of a cgroup directory and of every cgroup below it.</summary>
    private static IEnumerable<int> AllPidsBelow(string dir)
    {
        IEnumerable<string> below;
        try
        {
            below = Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            below = [];
        }
        return below.Prepend(dir).SelectMany(d => ReadPids(Path.Combine(d, "cgroup.procs")));
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
