using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The copy fallback of user namespaces (no idmapped mounts): a copy of each image layer with owners shifted into a
/// range's ids, under userns-layers/&lt;uid&gt;-&lt;gid&gt;-&lt;size&gt;/&lt;chain&gt;, made once per range and removed with the range's
/// last container. Two locks keep it whole: the store's shared lock while a copy is made in tmp/ (garbage
/// collection empties tmp/ under the exclusive one), and a per-range flock, shared while a start copies and mounts
/// the range's layers, exclusive while the range's copies are deleted (so a container given a just-freed range never
/// mounts copies being deleted). Only a complete copy is ever renamed into place, and a deletion first renames the
/// range's directory into tmp/ (gone at once, and finished by garbage collection or Repair if the process is killed).
/// </summary>
public sealed partial class ContainerManager
{
    private string ShiftedLayersDir => Path.Combine(paths.Root, "userns-layers");

    private static string RangeKey(UserNamespaceMaps maps) => $"{maps.Uid.Outside}-{maps.Gid.Outside}-{maps.Uid.Count}";

    /// <summary>The range's lock: under the run root (a lock needs no life past a reboot, and no file is left in the store).</summary>
    private FileLock LockShiftedRange(string key, bool exclusive)
    {
        string dir = Path.Combine(paths.RunRoot, "userns-locks");
        Directory.CreateDirectory(dir);
        return FileLock.Acquire(Path.Combine(dir, key + ".lock"), exclusive);
    }

    private FileLock LockShiftedRange(UserNamespaceMaps maps, bool exclusive) => LockShiftedRange(RangeKey(maps), exclusive);

    /// <summary>
    /// The shifted copy of a layer for these maps, made once: copied and shifted under tmp/ while holding the store's
    /// shared lock, then renamed into place, so the directory exists only when complete. The caller holds the range's lock.
    /// </summary>
    private string ShiftedLayer(string lower, UserNamespaceMaps maps)
    {
        string layerKey = Path.GetFileName(Path.GetDirectoryName(lower)!);
        string dest = Path.Combine(ShiftedLayersDir, RangeKey(maps), layerKey);
        if (Directory.Exists(dest)) return dest;
        Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
        using var storeLock = FileLock.Acquire(paths.StoreLock, exclusive: false);
        Directory.CreateDirectory(paths.Temp);
        string tmp = Path.Combine(paths.Temp, TempOwner.NewName("shift"));
        try
        {
            var (code, _, stderr) = ProcessSpawner.Run("/bin/cp", ["/bin/cp", "-a", "--", lower, tmp],
                new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, TimeSpan.FromMinutes(30));
            if (code != 0)
                throw new EngineException("LayerCopyFailed", ErrorKind.WriteError, lower, $"Copying layer {lower} for a user namespace failed: {stderr.Trim()}");
            OwnershipShift.ShiftTree(tmp, maps.Uid.Outside, maps.Gid.Outside, Math.Min(maps.Uid.Count, maps.Gid.Count));
            try
            {
                Directory.Move(tmp, dest);
            }
            catch (IOException) when (Directory.Exists(dest))
            {
                // Another session made it first: theirs is as good.
            }
        }
        finally
        {
            if (Directory.Exists(tmp)) LayerStore.DeleteTree(tmp);
        }
        return dest;
    }

    /// <summary>After a container's removal: its range's layer copies go when no other container uses the same ids.</summary>
    private void ReleaseShiftedLayers(UserNamespaceMaps? maps)
    {
        if (maps is null) return;
        string key = RangeKey(maps);
        if (!Directory.Exists(Path.Combine(ShiftedLayersDir, key))) return;
        using var rangeLock = LockShiftedRange(key, exclusive: true);
        // Read under the lock: a container given this range later can only start (and copy) after we are done.
        if (store.All().Any(r => MapsOfRecorded(r) is { } m && RangeKey(m) == key)) return;
        DeleteShiftedRange(key);
    }

    /// <summary>Renames the range's directory into tmp/ (it is gone for every reader at once), then deletes it.</summary>
    private void DeleteShiftedRange(string key)
    {
        string dir = Path.Combine(ShiftedLayersDir, key);
        if (!Directory.Exists(dir)) return;
        using var storeLock = FileLock.Acquire(paths.StoreLock, exclusive: false);
        Directory.CreateDirectory(paths.Temp);
        string trash = Path.Combine(paths.Temp, TempOwner.NewName("unshift"));
        Directory.Move(dir, trash);
        LayerStore.DeleteTree(trash);
    }

    /// <summary>
    /// For Repair-ContainerState: the copies of ranges no container record uses (left by a removal killed before its
    /// release, or by an engine that had no range lock). A range whose lock another session holds is left alone.
    /// </summary>
    private IEnumerable<string> RemoveUnusedShiftedRanges()
    {
        if (!Directory.Exists(ShiftedLayersDir)) return [];
        var used = store.All().Select(MapsOfRecorded).OfType<UserNamespaceMaps>().Select(RangeKey).ToHashSet(StringComparer.Ordinal);
        var removed = new List<string>();
        foreach (string dir in Directory.GetDirectories(ShiftedLayersDir))
        {
            string key = Path.GetFileName(dir);
            if (used.Contains(key)) continue;
            string lockPath = Path.Combine(paths.RunRoot, "userns-locks", key + ".lock");
            // No lock file: nobody has used the range since boot, so taking it waits for nothing. Otherwise a range
            // another session holds (copying, mounting or deleting) is left to it.
            using var rangeLock = File.Exists(lockPath) ? FileLock.TryAcquire(lockPath, exclusive: true) : LockShiftedRange(key, exclusive: true);
            if (rangeLock is null) continue;
            // Again under the lock: a container may have been given the range since the first read.
            if (store.All().Any(r => MapsOfRecorded(r) is { } m && RangeKey(m) == key)) continue;
            DeleteShiftedRange(key);
            removed.Add($"shifted layer copies {key}");
        }
        return removed;
    }
}
