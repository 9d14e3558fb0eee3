using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers.Providers;

/// <summary>
/// Kind <c>shifted-layers</c>, the copy fallback of user namespaces (no idmapped mounts): a copy of each image layer
/// with owners shifted into a range's ids, under userns-layers/&lt;uid&gt;-&lt;gid&gt;-&lt;size&gt;/&lt;chain&gt;, made once per range
/// and removed with the range's last container (the ledger key is the range). Two locks keep it whole: the store's
/// shared lock while a copy is made in tmp/ (garbage collection empties tmp/ under the exclusive one), and a per-range
/// flock, shared while a start copies and mounts the range's layers, exclusive while the range's copies are deleted
/// (so a container given a just-freed range never mounts copies being deleted). Only a complete copy is ever renamed
/// into place, and a deletion first renames the range's directory into tmp/ (gone at once, and finished by garbage
/// collection or Repair if the process is killed).
/// </summary>
/// <param name="rangeInUse">Whether any container record uses the range (read under the range's lock).</param>
public sealed class ShiftedLayerCopies(StatePaths paths, Func<string, bool> rangeInUse) : IHostObjectProvider
{
    public const string KindName = "shifted-layers";

    public string Kind => KindName;

    public HostObjectScope Scope => HostObjectScope.Shared;

    public string Root => Path.Combine(paths.Root, "userns-layers");

    public static string RangeKey(UserNamespaceMaps maps) => $"{maps.Uid.Outside}-{maps.Gid.Outside}-{maps.Uid.Count}";

    public bool Exists(string key) => Directory.Exists(Path.Combine(Root, key));

    public bool HeldByOthers(HostObject entry) => rangeInUse(entry.Name);

    /// <summary>Deletes the range's copies unless a record uses the range (checked again under its exclusive lock).</summary>
    public void Remove(string key)
    {
        if (!Exists(key)) return;
        using var rangeLock = Lock(key, exclusive: true);
        // Read under the lock: a container given this range later can only start (and copy) after we are done.
        if (rangeInUse(key)) return;
        DeleteRange(key);
    }

    /// <summary>The range's lock: under the run root (a lock needs no life past a reboot, and no file is left in the store).</summary>
    public FileLock Lock(string key, bool exclusive)
    {
        string dir = Path.Combine(paths.RunRoot, "userns-locks");
        Directory.CreateDirectory(dir);
        return FileLock.Acquire(Path.Combine(dir, key + ".lock"), exclusive);
    }

    /// <summary>
    /// The shifted copy of a layer for these maps, made once: copied and shifted under tmp/ while holding the store's
    /// shared lock, then renamed into place, so the directory exists only when complete. The caller holds the range's lock.
    /// </summary>
    public string CopyOf(string lower, UserNamespaceMaps maps)
    {
        string layerKey = Path.GetFileName(Path.GetDirectoryName(lower)!);
        string dest = Path.Combine(Root, RangeKey(maps), layerKey);
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

    /// <summary>Renames the range's directory into tmp/ (it is gone for every reader at once), then deletes it.</summary>
    private void DeleteRange(string key)
    {
        string dir = Path.Combine(Root, key);
        if (!Directory.Exists(dir)) return;
        using var storeLock = FileLock.Acquire(paths.StoreLock, exclusive: false);
        Directory.CreateDirectory(paths.Temp);
        string trash = Path.Combine(paths.Temp, TempOwner.NewName("unshift"));
        Directory.Move(dir, trash);
        LayerStore.DeleteTree(trash);
    }

    /// <summary>
    /// For Repair-ContainerState, for roots whose copies were made before the ledger recorded them: the copies of
    /// ranges no container record uses. A range whose lock another session holds is left alone.
    /// </summary>
    public IEnumerable<string> RemoveUnrecorded()
    {
        if (!Directory.Exists(Root)) return [];
        var removed = new List<string>();
        foreach (string dir in Directory.GetDirectories(Root))
        {
            string key = Path.GetFileName(dir);
            if (rangeInUse(key)) continue;
            string lockPath = Path.Combine(paths.RunRoot, "userns-locks", key + ".lock");
            // No lock file: nobody has used the range since boot, so taking it waits for nothing. Otherwise a range
            // another session holds (copying, mounting or deleting) is left to it.
            using var rangeLock = File.Exists(lockPath) ? FileLock.TryAcquire(lockPath, exclusive: true) : Lock(key, exclusive: true);
            if (rangeLock is null) continue;
            // Again under the lock: a container may have been given the range since the first read.
            if (rangeInUse(key)) continue;
            DeleteRange(key);
            removed.Add($"shifted layer copies {key}");
        }
        return removed;
    }
}
