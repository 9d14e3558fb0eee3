using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Engine.Cgroups;

/// <summary>
/// The cgroup provider of the container lifecycle: a container's cgroup (made by the runtime from the path the
/// engine records first) is named by its cgroup path, and removed in every hierarchy with any cgroups the container
/// made below it, deepest first, killing whatever still runs in them.
/// </summary>
public sealed class CgroupProvider(CgroupDriver cgroups) : IHostObjectProvider
{
    public const string KindName = "cgroup";

    public string Kind => KindName;

    public bool Exists(string cgroupPath) => cgroups.Exists(cgroupPath);

    /// <summary>Removes a container's cgroup and any cgroups a container made below it, deepest first.</summary>
    public void Remove(string cgroupPath)
    {
        foreach (string dir in cgroups.Directories(cgroupPath))
        {
            List<string> nested;
            try
            {
                nested = Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                nested = [];
            }
            foreach (string child in nested)
            {
                string relative = Path.GetRelativePath(cgroups.MountRoot, child);
                // The hierarchy's own directory name (v1: "memory/…") is not part of the cgroup path.
                string childPath = cgroups.Version == 1 ? "/" + string.Join('/', relative.Split('/').Skip(1)) : "/" + relative;
                RemoveOne(childPath);
            }
        }
        RemoveOne(cgroupPath);
    }

    /// <summary>Removes one cgroup in every hierarchy, killing anything still in it.</summary>
    private void RemoveOne(string cgroupPath)
    {
        foreach (string dir in cgroups.Directories(cgroupPath))
        {
            for (int attempt = 0; attempt < 50 && Directory.Exists(dir); attempt++)
            {
                try
                {
                    foreach (string pidText in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
                        if (int.TryParse(pidText, out int pid)) ProcessSignal.TrySend(pid, ProcessSignal.SIGKILL);
                    Directory.Delete(dir);
                }
                catch (IOException)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }
}
