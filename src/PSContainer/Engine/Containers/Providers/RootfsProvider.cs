using PSContainer.Native;

namespace PSContainer.Engine.Containers.Providers;

/// <summary>
/// The rootfs provider: a container's upper and work directories, the overlay of its image's layers (at its root
/// for a start, at copy-root for a copy), and for a user namespace the idmapped clones of the layers or, where the
/// kernel cannot idmap, the range's shifted copies. Every object is recorded in the ledger before it is made, and a
/// mount is taken off through the ledger, so a session killed at any point leaves entries that name what to remove.
/// The image's layers stay shared and untouched: each lower layer is cloned through the namespace's id maps (a
/// detached idmapped mount) and the overlay is made over those clones (overlayfs keeps private clones of its layers).
/// </summary>
public sealed class RootfsProvider(HostObjectLedger ledger, ShiftedLayerCopies shifted, Func<string, string> containerDir, Action<string> warn)
{
    private static volatile bool idmapUnsupported;

    /// <summary>
    /// Set once the kernel has refused a detached mount as an overlay layer (EINVAL): before "fs: allow detached
    /// mounts in clone_private_mount()" (db04662e2f4f, 2025) overlayfs took only mounts of the caller's namespace.
    /// $env:PSCONTAINER_IDMAP_ATTACHED=1 asks for that way on any kernel (tests).
    /// </summary>
    private static volatile bool detachedLayersRefused;

    /// <summary>$env:PSCONTAINER_NO_IDMAP=1 turns idmapped mounts off (the copy fallback is then used; for tests and broken kernels).</summary>
    public static bool IdmappedMountsDisabled => Environment.GetEnvironmentVariable("PSCONTAINER_NO_IDMAP") is "1" or "true";

    private static bool AttachIdmappedLayers => detachedLayersRefused || Environment.GetEnvironmentVariable("PSCONTAINER_IDMAP_ATTACHED") is "1" or "true";

    /// <summary>The kinds this provider records.</summary>
    public IEnumerable<IHostObjectProvider> Kinds => [MountProvider.Instance, DirectoryProvider.ContainerFiles, shifted];

    /// <summary>Makes the directories a container's root needs (upper, work, mount points); they are recorded first,
    /// once, in one transaction: they hold the container's files and go with the container. Inside the container's
    /// own directory (as they are for a start) the record does not wait for the disk: after a power cut that loses
    /// it, the container's removal, or Repair's sweep of a container directory without a record, deletes them whole
    /// (a run-to-exit made three flushed commits here, one per directory).</summary>
    public void MakeDirectories(string containerId, params string[] directories)
    {
        var missing = directories.Where(d => !Directory.Exists(d)).ToList();
        if (missing.Count == 0) return;
        string own = Path.TrimEndingDirectorySeparator(containerDir(containerId)) + "/";
        bool inside = missing.All(d => Path.GetFullPath(d).StartsWith(own, StringComparison.Ordinal));
        ledger.RecordAll(containerId, missing.Select(d => (DirectoryProvider.ContainerFilesKind, d)).ToList(), relaxed: inside);
        foreach (string d in missing)
        {
            CrashPoint.At(DirectoryProvider.ContainerFilesKind + "-after-record");
            Directory.CreateDirectory(d);
        }
    }

    /// <summary>Takes a mount of the container off (with anything below it) and forgets it.</summary>
    public void Unmount(string containerId, string target) =>
        ledger.RemoveWith([MountProvider.Instance], new HostObject(containerId, MountProvider.KindName, target, default));

    /// <summary>A read-only view of the container's files (the upper directory as the top lower layer, no work
    /// directory), so a running container's own overlay (which holds upper and work) is not disturbed.</summary>
    public void MountReadOnlyView(string containerId, IReadOnlyList<string> layersTopFirst, string target)
    {
        ledger.Record(containerId, MountProvider.KindName, target);
        Mounts.MountOverlay(layersTopFirst, null, null, target);
    }

    /// <summary>
    /// Mounts the container's root: the overlay of its image's layers, through idmapped mounts when it has a user
    /// namespace. The upper and work directories belong to the container's root on the host.
    /// </summary>
    public void Mount(string containerId, string containerName, UserNamespaceMaps? maps, IReadOnlyList<string> lowers, string upper, string work, string target)
    {
        ledger.Record(containerId, MountProvider.KindName, target);
        if (maps is null)
        {
            Mounts.MountOverlay(lowers, upper, work, target);
            return;
        }
        foreach (string d in new[] { upper, work }) maps.ChownToRoot(d);
        if (!IdmappedMountsDisabled && !idmapUnsupported)
        {
            try
            {
                MountIdmappedOverlay(containerId, lowers, upper, work, target, maps);
                return;
            }
            catch (NativeException e) when (IdmappedMount.IsUnsupported(e))
            {
                // Only the kernel refusing to idmap is a fact about the host for the rest of the session; any other
                // refusal in the mount path falls back for this container alone.
                if (e.Operation is "open_tree" || e.Operation.StartsWith("mount_setattr", StringComparison.Ordinal)) idmapUnsupported = true;
                warn($"This kernel or file system cannot make idmapped mounts ({e.Message}): container {containerName} uses a copy of each image layer with shifted owners, made once per id range under {shifted.Root}.");
            }
        }
        else
        {
            warn($"Idmapped mounts are off{(IdmappedMountsDisabled ? " ($env:PSCONTAINER_NO_IDMAP)" : "")}: container {containerName} uses a copy of each image layer with shifted owners, made once per id range under {shifted.Root}.");
        }
        // Shared range lock until the overlay holds the copies: a removal of the range's last other container
        // cannot delete them under us, nor can a newer container of a freed range reuse copies being deleted.
        string key = ShiftedLayerCopies.RangeKey(maps);
        using var rangeLock = shifted.Lock(key, exclusive: false);
        ledger.Record(containerId, ShiftedLayerCopies.KindName, key);
        Mounts.MountOverlay(lowers.Select(l => shifted.CopyOf(l, maps)).ToList(), upper, work, target);
    }

    /// <summary>
    /// The overlay over idmapped clones of the lower layers. The clones are detached mounts held by descriptors,
    /// given to overlayfs by their /proc/self/fd paths: nothing but the overlay is ever mounted, and a kill at any
    /// point leaves nothing (descriptors die with the process). A kernel that refuses detached layers gets each
    /// clone attached under containers/&lt;id&gt;/idmap/N first (each recorded in the ledger before it is attached),
    /// taken off again through the ledger once the overlay holds them.
    /// </summary>
    private void MountIdmappedOverlay(string id, IReadOnlyList<string> lowers, string upper, string work, string rootfs, UserNamespaceMaps maps)
    {
        int userns = IdmappedMount.CreateUserNamespace([maps.Uid], [maps.Gid]);
        var trees = new List<int>();
        var attached = new List<string>();
        try
        {
            foreach (string lower in lowers) trees.Add(IdmappedMount.CloneIdmapped(lower, userns));
            CrashPoint.At("after-idmap");
            if (!AttachIdmappedLayers)
            {
                try
                {
                    Mounts.MountOverlay(trees.Select(IdmappedMount.PathOf).ToList(), upper, work, rootfs);
                    return;
                }
                catch (NativeException e) when (e.Errno == Errors.EINVAL && e.Operation == "mount overlay")
                {
                    // The kernel's answer (not our own check of the option string's length, which the longer
                    // attached paths would fail all the more).
                    detachedLayersRefused = true;
                }
            }
            string idmapDir = Path.Combine(containerDir(id), "idmap");
            for (int i = 0; i < trees.Count; i++)
            {
                // Short names: the overlay's option string (one page) holds every lower dir's path.
                string target = Path.Combine(idmapDir, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Directory.CreateDirectory(target);
                ledger.Record(id, MountProvider.KindName, target);
                attached.Add(target);
                IdmappedMount.Attach(trees[i], target);
            }
            CrashPoint.At("after-idmap-attach");
            Mounts.MountOverlay(attached, upper, work, rootfs);
        }
        finally
        {
            foreach (int tree in trees) IdmappedMount.Close(tree);
            IdmappedMount.Close(userns);
            // The overlay holds private clones of its layers: the attached ones are not needed past this point.
            foreach (string t in attached) Unmount(id, t);
        }
    }
}
