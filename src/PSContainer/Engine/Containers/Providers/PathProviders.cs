using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers.Providers;

/// <summary>
/// Kind <c>mount</c>: a mount point the engine made on the host for a container (its root's overlay, a copy's root
/// with the volumes bound into it, an idmapped layer attached for overlayfs, a shareable /dev/shm, a pinned
/// namespace), with whatever is mounted below it. Removed deepest first, lazily (a process still inside keeps it
/// until it leaves, as every clean-up of ours always did).
/// </summary>
public sealed class MountProvider : IHostObjectProvider
{
    public const string KindName = "mount";

    public static readonly MountProvider Instance = new();

    public string Kind => KindName;

    public bool Exists(string path) => Mounts.MountPointsUnder(path).Count > 0;

    public void Remove(string path)
    {
        foreach (string mount in Mounts.MountPointsUnder(path)) Mounts.Unmount(mount, detach: true);
    }
}

/// <summary>
/// A directory the engine made for a container: kind <c>directory</c> (the root's upper, work and mount-point
/// directories, which hold the container's files and go with the container) or a temporary one of a single run
/// (a volume's copy-up in progress). Anything mounted below it is taken off before it is deleted, so a deletion never
/// reaches into a mounted file system.
/// </summary>
public sealed class DirectoryProvider(string kind, HostObjectScope scope) : IHostObjectProvider
{
    public const string ContainerFilesKind = "directory";

    public static readonly DirectoryProvider ContainerFiles = new(ContainerFilesKind, HostObjectScope.Container);

    public string Kind => kind;

    public HostObjectScope Scope => scope;

    public bool Exists(string path) => Directory.Exists(path);

    public void Remove(string path)
    {
        MountProvider.Instance.Remove(path);
        LayerStore.DeleteTree(path);
    }
}
