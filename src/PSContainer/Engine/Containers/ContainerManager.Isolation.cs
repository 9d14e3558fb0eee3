using PSContainer.Native;

namespace PSContainer.Engine.Containers;

public sealed partial class ContainerManager
{
    private string ShmPath(string id) => Path.Combine(ContainerDir(id), "shm");

    /// <summary>The host-side /dev/shm of a shareable container, mounted before its spec is written (see IsolationSpec.ShmOnHost).</summary>
    private void MountShmOnHost(ContainerRecord record)
    {
        if (!IsolationSpec.ShmOnHost(record.Options)) return;
        string path = ShmPath(record.Id);
        Directory.CreateDirectory(path);
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
