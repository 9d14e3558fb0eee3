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
        if (!Mounts.IsMountPoint(path))
            Mounts.Mount("shm", path, "tmpfs", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC, IsolationSpec.ShmMountData(record.Options));
    }

    /// <summary>A running container whose pid or IPC namespace a starting one joins (-Pid/-Ipc container:NAME).</summary>
    private JoinTarget JoinRunning(string nameOrId)
    {
        var target = ReconcileIfIdle(Resolve(nameOrId));
        if (target is null || target.State is not (ContainerState.Running or ContainerState.Paused))
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, nameOrId, $"Cannot join the namespaces of container {nameOrId}: it is not running.");
        return new JoinTarget(target.Name, target.Pid, target.Options, ShmPath(target.Id));
    }
}
