using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Volumes;

/// <summary>
/// Volumes in docker's layout: &lt;root&gt;/volumes/&lt;name&gt;/_data, with a row in the state db recorded before the
/// directory is made (state creating) and marked removing before it is deleted, so whatever a killed session left
/// is finished by the next command that looks (a creation is completed, a removal carried out). A per-volume flock
/// (volumes/.locks/&lt;name&gt;) serialises making, mounting, copying into and removing one volume between sessions.
/// </summary>
public sealed partial class VolumeManager
{
    private readonly StatePaths paths;

    public VolumeManager(StatePaths paths, StateDb db)
    {
        this.paths = paths;
        Store = new VolumeStore(db);
    }

    public VolumeStore Store { get; }

    public string VolumesDir => Path.Combine(paths.Root, "volumes");
    private string LocksDir => Path.Combine(VolumesDir, ".locks");
    public string DirOf(string name) => Path.Combine(VolumesDir, name);
    public string DataOf(string name) => Path.Combine(DirOf(name), "_data");

    /// <summary>The volume's lock. Callers re-read the row after taking it: a removal may have finished meanwhile.</summary>
    public FileLock Lock(string name)
    {
        Directory.CreateDirectory(LocksDir);
        return FileLock.Acquire(Path.Combine(LocksDir, name), exclusive: true);
    }

    private FileLock? TryLock(string name)
    {
        Directory.CreateDirectory(LocksDir);
        string path = Path.Combine(LocksDir, name);
        try
        {
            // TryAcquire takes only an existing file; a killed session may have left a record but no lock file yet.
            if (!File.Exists(path)) File.WriteAllBytes(path, []);
        }
        catch (IOException)
        {
            return null; // somebody made and locked it this instant
        }
        return FileLock.TryAcquire(path, exclusive: true);
    }

    public static string NewAnonymousName() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public ContainerVolume Create(VolumeCreateOptions o)
    {
        string name = o.Name ?? NewAnonymousName();
        VolumeSpec.ValidateName(name);
        if (o.Driver != "local")
            throw new EngineException("UnsupportedVolumeDriver", ErrorKind.InvalidArgument, o.Driver, $"Volume driver '{o.Driver}' is not supported: only local is.");
        var driverOptions = VolumeDriverOptions.Parse(o.Options, name);
        if (driverOptions.Type == "none" && !Directory.Exists(driverOptions.Device))
            throw new EngineException("VolumeDeviceNotFound", ErrorKind.ObjectNotFound, driverOptions.Device, $"The bind volume's device {driverOptions.Device} is not a directory.");
        // Recorded first: a kill after this leaves a row in state creating, which the next command completes.
        Store.Insert(new VolumeRecord(name, o.Driver, new(o.Options), new(o.Labels), DateTime.UtcNow, o.Name is null, VolumeStore.Creating));
        CrashPoint.At("volume-create-after-record");
        using (Lock(name)) Finish(name);
        return Get(name, size: false);
    }

    /// <summary>Makes the directory of a recorded volume and marks it ready (idempotent; under the volume's lock).</summary>
    public void Finish(string name)
    {
        var rec = Store.Get(name);
        if (rec is null || rec.State != VolumeStore.Creating) return;
        // 0701: a user-namespaced container's root must pass through to _data, as through docker's volumes directory.
        Directory.CreateDirectory(DirOf(name), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
        // _data is what containers see: 0755 root, as docker's.
        Directory.CreateDirectory(DataOf(name), (UnixFileMode)0b111_101_101);
        Store.SetState(name, VolumeStore.Ready);
    }

    public ContainerVolume Get(string name, bool size)
    {
        VolumeSpec.ValidateName(name);
        Settle(name);
        var rec = Store.Get(name) ?? throw NotFound(name);
        return ToVolume(rec, Store.Users(), size);
    }

    public IReadOnlyList<ContainerVolume> List(bool size)
    {
        foreach (var rec in Store.All().Where(r => r.State != VolumeStore.Ready)) Settle(rec.Name);
        var users = Store.Users();
        return Store.All().Select(r => ToVolume(r, users, size)).ToList();
    }

    public static EngineException NotFound(string name) => new("VolumeNotFound", ErrorKind.ObjectNotFound, name, $"No such volume: {name}");

    private ContainerVolume ToVolume(VolumeRecord r, Dictionary<string, List<string>> users, bool size) => new()
    {
        Name = r.Name,
        Mountpoint = DataOf(r.Name),
        Driver = r.Driver,
        Options = r.Options,
        Labels = r.Labels,
        Created = r.Created,
        Anonymous = r.Anonymous,
        UsedBy = users.TryGetValue(r.Name, out var u) ? u.ToArray() : [],
        Size = size ? SizeOf(DataOf(r.Name)) : null,
    };

    /// <summary>Bytes of the regular files under a directory, without following links.</summary>
    public static long SizeOf(string dir)
    {
        if (!Directory.Exists(dir)) return 0;
        long total = 0;
        var pending = new Stack<string>();
        pending.Push(dir);
        while (pending.Count > 0)
        {
            foreach (var entry in new DirectoryInfo(pending.Pop()).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo d && d.LinkTarget is null) pending.Push(d.FullName);
                else if (entry is FileInfo f && f.LinkTarget is null)
                    total += f.Length;
            }
        }
        return total;
    }

    /// <summary>Finishes what a killed session left of this volume, if nobody is working on it now.</summary>
    private void Settle(string name)
    {
        var rec = Store.Get(name);
        if (rec is null || rec.State == VolumeStore.Ready) return;
        using var held = TryLock(name);
        if (held is null) return;
        SettleLocked(name);
    }

    private void SettleLocked(string name)
    {
        var rec = Store.Get(name);
        if (rec is null) return;
        if (rec.State == VolumeStore.Removing) FinishRemoval(name);
        else if (rec.State == VolumeStore.Creating)
        {
            // An anonymous volume whose container's creation was undone has nobody to belong to.
            if (rec.Anonymous && Store.UserIds(name).Count == 0) { Store.MarkRemoving(name); FinishRemoval(name); }
            else Finish(name);
        }
    }

    /// <summary>
    /// docker volume rm: refused while any container (running or not) uses the volume, with or without force; force
    /// only makes a missing volume no error.
    /// </summary>
    public void Remove(string name, bool force)
    {
        VolumeSpec.ValidateName(name);
        using (Lock(name))
        {
            if (!Store.MarkRemoving(name))
            {
                if (force) return;
                throw NotFound(name);
            }
            CrashPoint.At("volume-remove-after-mark");
            FinishRemoval(name);
        }
    }

    /// <summary>Unmounts and deletes a volume marked removing, then its row (under its lock).</summary>
    private void FinishRemoval(string name)
    {
        foreach (string mount in Mounts.MountPointsUnder(DirOf(name)).OrderByDescending(m => m.Length)) Mounts.Unmount(mount, detach: true);
        LayerStore.DeleteTree(DirOf(name));
        Store.Delete(name);
        File.Delete(Path.Combine(LocksDir, name));
    }

    /// <summary>Repair-ContainerState: completes killed creations and removals. Driver mounts are host objects of the
    /// containers that hold them, in the ledger (Containers/Providers/VolumeProvider.cs), which Repair walks first;
    /// a mount still there that no running container uses was made before the ledger recorded them (or by hand), and
    /// is taken off here.</summary>
    public List<string> Repair(Func<string, bool> running)
    {
        var done = new List<string>();
        foreach (var rec in Store.All())
        {
            using var held = TryLock(rec.Name);
            if (held is null) continue;
            if (rec.State != VolumeStore.Ready)
            {
                SettleLocked(rec.Name);
                done.Add($"volume {rec.Name} ({(rec.State == VolumeStore.Removing ? "removal" : "creation")} finished)");
                continue;
            }
            if (Mounts.IsMountPoint(DataOf(rec.Name)) && !Store.UserIds(rec.Name).Any(running))
            {
                Mounts.Unmount(DataOf(rec.Name), detach: true);
                done.Add($"volume mount {DataOf(rec.Name)}");
            }
        }
        return done;
    }
}
