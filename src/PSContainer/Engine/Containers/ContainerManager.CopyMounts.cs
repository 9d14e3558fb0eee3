using PSContainer.Engine.Volumes;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// docker cp on a stopped container sees its volumes and binds (docker mounts them for the copy): the copy's overlay
/// gets the container's volume and bind mounts at their destinations before any path is resolved, so a path under a
/// mount point reads and writes the volume's directory, and every path still resolves inside the container's root
/// (RESOLVE_IN_ROOT crosses mount points as the container's own view does). Each mount point is found the same way:
/// opened with RESOLVE_IN_ROOT from a descriptor of the copy's root (a symlink in the container on the way stays inside
/// the root) and mounted on through /proc/self/fd, never through a path the container could redirect. The mounts sit
/// under the copy's mount point, so the copy's clean-up (and a later command's, after a kill) unmounts them with it.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>The volume and bind mounts a stopped container's copy shows, parents before children (tmpfs are the running container's own).</summary>
    private static List<ContainerMount> CopyMountsOf(ContainerRecord record) =>
        VolumeSpec.All(record.Options).Where(m => m.Type is "volume" or "bind")
            .OrderBy(m => m.Destination.Count(c => c == '/')).ThenBy(m => m.Destination, StringComparer.Ordinal).ToList();

    /// <summary>A write into a read-only volume or bind is refused up front, with docker's reason.</summary>
    private static void RefuseReadOnlyMount(ContainerRecord record, string containerPath)
    {
        string clean = "/" + CleanContainerPath(containerPath);
        var hit = VolumeSpec.All(record.Options)
            .Where(m => clean == m.Destination || clean.StartsWith(m.Destination + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Destination.Length).FirstOrDefault();
        if (hit is { ReadOnly: true })
            throw new EngineException("DestinationReadOnly", ErrorKind.PermissionDenied, containerPath,
                $"Cannot copy into {containerPath} of container {record.Name}: {hit.Destination} is a read-only {(hit.Type == "volume" ? "volume" : "mount")}.");
    }

    /// <summary>Mounts the container's volumes and binds into the copy's root at <paramref name="mount"/> (under the container's lock).</summary>
    private void MountVolumesForCopy(ContainerRecord record, string mount, IReadOnlyList<ContainerMount> copyMounts)
    {
        // Private: nothing mounted below the copy's root propagates to the host's peers (or back).
        Mounts.Mount(null, mount, null, Mounts.MS_PRIVATE, null);
        using var root = RootedDirectory.Open(mount);
        foreach (var m in copyMounts)
        {
            try
            {
                if (m.Type == "volume")
                {
                    using (Volumes.Lock(m.Source))
                    {
                        var rec = Volumes.Store.Get(m.Source) ?? throw VolumeManager.NotFound(m.Source);
                        if (rec.State == VolumeStore.Creating) Volumes.Finish(m.Source);
                        string data = Volumes.DataOf(m.Source);
                        var driver = VolumeDriverOptions.Parse(rec.Options, rec.Name);
                        // A driver volume nobody runs with is not mounted at _data: mount it for the copy alone, as docker's
                        // local driver does for docker cp (a tmpfs volume is empty then, and what is copied in goes with it).
                        if (!driver.IsMount || Mounts.IsMountPoint(data))
                            BindInto(root, data, m.Destination, m.ReadOnly);
                        else if (driver.Type == "none")
                            BindInto(root, driver.Device!, m.Destination, m.ReadOnly || (driver.SplitO().Flags & Mounts.MS_RDONLY) != 0);
                        else
                        {
                            OnMountPoint(root, m.Destination, directory: true, target => driver.MountAt(target));
                            if (m.ReadOnly) RemountReadOnly(root, m.Destination, directory: true);
                        }
                    }
                }
                else
                {
                    // A -Volume bind's host directory is made at the first start: before it there is nothing to show.
                    if (!Path.Exists(m.Source)) continue;
                    BindInto(root, m.Source, m.Destination, m.ReadOnly);
                }
            }
            catch (NativeException e)
            {
                throw new EngineException("CopyMountFailed", ErrorKind.InvalidOperation, m.Destination,
                    $"Cannot mount {(m.Type == "volume" ? "volume " + m.Source : m.Source)} at {m.Destination} of container {record.Name} for the copy: {e.Message}", e);
            }
        }
    }

    private static void BindInto(RootedDirectory root, string source, string destination, bool readOnly)
    {
        bool directory = Directory.Exists(source);
        OnMountPoint(root, destination, directory, target => Mounts.Mount(source, target, null, Mounts.MS_BIND | Mounts.MS_REC, null));
        if (readOnly) RemountReadOnly(root, destination, directory);
    }

    private static void RemountReadOnly(RootedDirectory root, string destination, bool directory) =>
        // Resolved again from the root: the walk now ends on the new mount, which is what the remount must name.
        OnMountPoint(root, destination, directory, target => Mounts.Mount(null, target, null, Mounts.MS_REMOUNT | Mounts.MS_BIND | Mounts.MS_RDONLY, null));

    /// <summary>
    /// Runs <paramref name="mountOn"/> with a /proc/self/fd path of the mount point, made (as the runtime makes it at
    /// start) when missing: a directory, or an empty file for a file bind. A symlink as the last part of a file's mount
    /// point is refused rather than followed.
    /// </summary>
    private static void OnMountPoint(RootedDirectory root, string destination, bool directory, Action<string> mountOn)
    {
        string clean = CleanContainerPath(destination);
        if (directory)
        {
            using var dir = root.OpenDirectory(clean, create: true);
            mountOn($"/proc/self/fd/{dir.Fd}");
            return;
        }
        var (parent, leaf) = Split(clean);
        using var parentDir = root.OpenDirectory(parent, create: true);
        uint type = parentDir.TypeOf(leaf);
        if (type == 0) parentDir.CreateFile(leaf).Dispose();
        else if (type != Sys.S_IFREG)
            throw new NativeException("mount file bind (the mount point is not a regular file)", destination, Errors.ENOTDIR);
        mountOn($"/proc/self/fd/{parentDir.Fd}/{leaf}");
    }
}
