using PSContainer.Engine.Containers.Providers;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// The host-side /dev/shm of a shareable container: a world-writable tmpfs, so it sits in a directory only the
    /// container's root may enter (docker keeps it under 0710 /var/lib/docker for the same reason).
    /// </summary>
    private string ShmPath(string id) => Path.Combine(ContainerDir(id), "ipc", "shm");

    /// <summary>The host-side /dev/shm of a shareable container, mounted before its spec is written (see IsolationSpec.ShmOnHost).</summary>
    private void MountShmOnHost(ContainerRecord record)
    {
        if (!IsolationSpec.ShmOnHost(record.Options)) return;
        string path = ShmPath(record.Id), parent = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (MapsOf(record) is { } maps) ChownToRoot(parent, maps);
        // Recorded even when already mounted (a mount from a build before the ledger, or a killed start's): the
        // run's clean-up then takes it off.
        Ledger.Record(record.Id, MountProvider.KindName, path);
        if (Mounts.IsMountPoint(path)) return;
        Mounts.Mount("shm", path, "tmpfs", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC, IsolationSpec.ShmMountData(record.Options));
    }

    /// <summary>A running container whose pid or IPC namespace the starting container <paramref name="joinerId"/> joins (-Pid/-Ipc container:NAME).</summary>
    private JoinTarget JoinRunning(string nameOrId, string joinerId)
    {
        var target = ReconcileIfIdle(Resolve(nameOrId));
        if (target is null || target.State is not (ContainerState.Running or ContainerState.Paused))
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, nameOrId, $"Cannot join the namespaces of container {nameOrId}: it is not running.");
        string name = target.Name, cgroup = CgroupPath(target);
        int pid = target.Pid;
        return new JoinTarget(name, target.Options, ShmPath(target.Id), type => PinNamespace(joinerId, name, pid, cgroup, type));
    }

    /// <summary>
    /// Binds /proc/PID/ns/TYPE of the joined container onto a file in the joiner's directory and then proves that
    /// what is bound is that container's namespace: the pid is still a process in its cgroup, with that namespace.
    /// Handing the runtime /proc/PID/ns/TYPE itself would race with the container's exit: its pid can go to another
    /// process (a host one) before the runtime opens the path, which would join that process's namespace instead.
    /// The bind keeps the namespace alive until the runtime has joined it (see UnpinJoinedNamespaces).
    /// </summary>
    private string PinNamespace(string joinerId, string targetName, int pid, string cgroupPath, string type)
    {
        string pin = Path.Combine(ContainerDir(joinerId), "join-" + type);
        if (Mounts.IsMountPoint(pin)) Mounts.Unmount(pin, detach: true);
        if (!File.Exists(pin)) File.WriteAllBytes(pin, []);
        CrashPoint.PauseAt("join-before-pin");
        string source = $"/proc/{pid}/ns/{type}";
        Ledger.Record(joinerId, MountProvider.KindName, pin);
        try
        {
            Mounts.Mount(source, pin, null, Mounts.MS_BIND, null);
        }
        catch (NativeException e) when (e.Errno is Errors.ENOENT or Errors.ESRCH)
        {
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, targetName, $"Cannot join the {type} namespace of container {targetName}: it exited.");
        }
        if (!InCgroup(pid, cgroupPath) || FileIdentity.Of(source) is not { } now || FileIdentity.Of(pin) != now)
        {
            Mounts.Unmount(pin, detach: true);
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, targetName,
                $"Cannot join the {type} namespace of container {targetName}: it exited (its pid {pid} is now another process's).");
        }
        return pin;
    }

    /// <summary>Whether a process is in a cgroup (in any hierarchy; the same path is used in each).</summary>
    private static bool InCgroup(int pid, string cgroupPath)
    {
        try
        {
            // Lines are "hierarchy:controllers:path"; the path holds no colon of ours but may in general, hence the limit.
            return File.ReadAllLines($"/proc/{pid}/cgroup").Any(l => l.Split(':', 3) is [_, _, var path] && path == cgroupPath);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Drops the pins of joined namespaces once the runtime has created the container in them.</summary>
    private void UnpinJoinedNamespaces(string id)
    {
        foreach (string type in new[] { "pid", "ipc" })
        {
            string pin = Path.Combine(ContainerDir(id), "join-" + type);
            if (Mounts.IsMountPoint(pin)) Rootfs.Unmount(id, pin);
            File.Delete(pin);
        }
    }
}
