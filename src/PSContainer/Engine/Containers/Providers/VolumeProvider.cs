using PSContainer.Engine.Images;
using PSContainer.Engine.Volumes;
using PSContainer.Native;

namespace PSContainer.Engine.Containers.Providers;

/// <summary>
/// The volume provider: names for anonymous volumes and the image's VOLUME entries at creation, the container
/// recorded as a user of each volume (which creates missing named ones, as docker does on first use), and at start
/// the local driver's mount (kind <c>volume-mount</c>, recorded for every container that holds it, before it is
/// made), docker's copy-up of the image's content into an empty volume (kind <c>volume-copy</c> while it is under
/// way), and the ownership a user-namespaced container needs. A run's clean-up walks the ledger: a driver mount comes
/// off when no other container using it runs or starts.
/// </summary>
public sealed class VolumeProvider
{
    public const string CopyKind = "volume-copy";

    private readonly VolumeManager volumes;
    private readonly HostObjectLedger ledger;
    private readonly VolumeMountProvider mounts;
    private readonly DirectoryProvider copies = new(CopyKind, HostObjectScope.Run);

    /// <param name="othersUsing">Whether a container other than the second argument runs or starts with the volume.</param>
    public VolumeProvider(VolumeManager volumes, HostObjectLedger ledger, Func<string, string, bool> othersUsing)
    {
        this.volumes = volumes;
        this.ledger = ledger;
        mounts = new VolumeMountProvider(volumes, othersUsing);
    }

    /// <summary>The kinds this provider records.</summary>
    public IEnumerable<IHostObjectProvider> Kinds => [mounts, copies];

    /// <summary>Checks the mounts and fixes the names of anonymous volumes in the options before the record is written.</summary>
    public static void PrepareOptions(ContainerOptions o, ContainerImage image)
    {
        VolumeSpec.All(o);
        string Anonymous()
        {
            string n = VolumeManager.NewAnonymousName();
            o.AnonymousVolumes.Add(n);
            return n;
        }
        o.Volumes = o.Volumes.Select(v => VolumeSpec.ParseVolumeArguments([v])[0] is { Type: "volume", Source: "" } ? Anonymous() + ":" + v : v).ToList();
        o.Mounts = o.Mounts.Select(m => VolumeSpec.ParseMount(m) is { Type: "volume", Source: "" } ? m + ",source=" + Anonymous() : m).ToList();
        // The image's VOLUME paths that no mount of the user's covers get an anonymous volume each (docker's rule).
        var taken = VolumeSpec.All(o).Select(m => m.Destination).ToHashSet(StringComparer.Ordinal);
        foreach (string path in image.Config.Volumes)
        {
            string dest = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path.StartsWith('/') ? path : "/" + path));
            if (dest != "/" && taken.Add(dest)) o.Volumes.Add(Anonymous() + ":" + dest);
        }
    }

    /// <summary>Records the container as a user of its volumes (after its record exists) and makes new ones.</summary>
    public void Attach(ContainerRecord record)
    {
        var used = VolumeSpec.All(record.Options).Where(m => m.Type == "volume")
            .Select(m => (m.Source, record.Options.AnonymousVolumes.Contains(m.Source))).ToList();
        if (used.Count == 0) return;
        var made = volumes.Store.Attach(record.Id, used);
        CrashPoint.At("create-after-volume-record");
        foreach (string name in made)
            using (volumes.Lock(name)) volumes.Finish(name);
    }

    /// <summary>Removes a container's anonymous volumes nobody else uses (Remove-Container -Volumes, -AutoRemove, an undone creation).</summary>
    public void RemoveAnonymous(ContainerOptions o)
    {
        foreach (string name in o.AnonymousVolumes)
        {
            try
            {
                volumes.Remove(name, force: true);
            }
            catch (EngineException e) when (e.ErrorId is "VolumeInUse")
            {
                // Another container mounts it too: docker keeps it then.
            }
        }
    }

    /// <summary>At start, under the container's lock and after its root is mounted: each volume ready, mounted, filled.</summary>
    public void PrepareForStart(ContainerRecord record, string rootfs, UserNamespaceMaps? maps)
    {
        foreach (var m in VolumeSpec.All(record.Options))
        {
            if (m.Type == "bind" && m.Options == "nocreate" && !Path.Exists(m.Source))
                throw new EngineException("BindSourceNotFound", ErrorKind.ObjectNotFound, m.Source, $"The bind source path {m.Source} does not exist (-Mount type=bind does not create it).");
            if (m.Type != "volume") continue;
            using (volumes.Lock(m.Source))
            {
                var rec = volumes.Store.Get(m.Source) ?? throw VolumeManager.NotFound(m.Source);
                if (rec.State == VolumeStore.Creating) volumes.Finish(m.Source);
                string data = volumes.DataOf(m.Source);
                var driver = VolumeDriverOptions.Parse(rec.Options, rec.Name);
                if (driver.IsMount)
                {
                    // Recorded for every container that runs with the mount, made or found: the last one's clean-up
                    // takes it off, whichever container made it.
                    ledger.Record(record.Id, VolumeMountProvider.KindName, m.Source);
                    if (!Mounts.IsMountPoint(data)) MountDriver(driver, data, rec.Name);
                }
                if (Directory.EnumerateFileSystemEntries(data).Any()) continue;
                if (m.Options != "nocopy") CopyUp(record.Id, rootfs, m.Destination, rec.Name, driver.IsMount);
                // docker --userns-remap: a new volume belongs to the remapped root, so root in the container can write it.
                if (driver.Type != "none" && maps is { } userns && !Directory.EnumerateFileSystemEntries(data).Any()
                    && OwnershipShift.OwnerOf(data) == 0)
                    userns.ChownToRoot(data);
            }
        }
    }

    private static void MountDriver(VolumeDriverOptions driver, string data, string volume)
    {
        try
        {
            driver.MountAt(data);
        }
        catch (NativeException e)
        {
            throw new EngineException("VolumeMountFailed", ErrorKind.InvalidOperation, volume, $"Cannot mount volume {volume} ({driver.Type}): {e.Message}", e);
        }
    }

    /// <summary>
    /// docker's copy-up: the image's content at the mount point goes into the new, empty volume with owners, modes,
    /// links and extended attributes (cp -a). Only a path that is a real directory in the root is copied: a
    /// symlink on the way could lead out of the container's root, so it is not followed.
    /// </summary>
    private void CopyUp(string containerId, string rootfs, string destination, string volume, bool mounted)
    {
        string source = rootfs;
        foreach (string part in destination.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            source = Path.Combine(source, part);
            var info = new DirectoryInfo(source);
            if (!info.Exists || info.LinkTarget is not null) return;
        }
        string data = volumes.DataOf(volume);
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" };
        if (mounted)
        {
            // A driver mount is the volume itself: fill it in place.
            var (c, _, err) = ProcessSpawner.Run("/bin/cp", ["/bin/cp", "-a", "--", source + "/.", data], env, TimeSpan.FromMinutes(30));
            if (c != 0) throw new EngineException("VolumeCopyFailed", ErrorKind.WriteError, volume, $"Copying {destination} of the image into volume {volume} failed: {err.Trim()}");
            return;
        }
        // Copied beside _data and renamed over it in one rename(2), so a kill leaves either the empty volume (copied
        // again next start) or the whole copy, never half of it nor neither; the copy in progress is in the ledger
        // until it is renamed. One name per container: a stale entry of another container's killed start, removed by
        // Repair, never deletes the tree this copy is filling.
        string tmp = Path.Combine(volumes.DirOf(volume), "copy-in-progress-" + containerId);
        var entry = new HostObject(containerId, CopyKind, tmp, default);
        ledger.RemoveWith(Kinds, entry);
        ledger.Record(containerId, CopyKind, tmp);
        try
        {
            var (code, _, stderr) = ProcessSpawner.Run("/bin/cp", ["/bin/cp", "-a", "--", source, tmp], env, TimeSpan.FromMinutes(30));
            if (code != 0)
                throw new EngineException("VolumeCopyFailed", ErrorKind.WriteError, volume, $"Copying {destination} of the image into volume {volume} failed: {stderr.Trim()}");
            Native.Sys.Rename(tmp, data);
        }
        finally
        {
            ledger.RemoveWith(Kinds, entry);
        }
    }
}

/// <summary>
/// Kind <c>volume-mount</c>: a local-driver volume's mount (tmpfs, bind, device) at volumes/&lt;name&gt;/_data, keyed
/// by the volume's name. Several containers hold it at once; it is taken off (under the volume's lock) only when no
/// other container using the volume runs or is starting.
/// </summary>
public sealed class VolumeMountProvider(VolumeManager volumes, Func<string, string, bool> othersUsing) : IHostObjectProvider
{
    public const string KindName = "volume-mount";

    public string Kind => KindName;

    public bool Exists(string volume) => Mounts.IsMountPoint(volumes.DataOf(volume));

    public bool HeldByOthers(HostObject entry) => othersUsing(entry.Name, entry.ContainerId);

    public void Remove(string volume) => Remove(new HostObject("", KindName, volume, default));

    public void Remove(HostObject entry)
    {
        if (!Exists(entry.Name)) return;
        using (volumes.Lock(entry.Name))
            if (!othersUsing(entry.Name, entry.ContainerId)) Mounts.Unmount(volumes.DataOf(entry.Name), detach: true);
    }
}
