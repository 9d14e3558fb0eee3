using PSContainer.Engine.Images;
using PSContainer.Engine.Volumes;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// Containers and volumes: names for anonymous volumes and the image's VOLUME entries at creation, the container
/// recorded as a user of each volume (which creates missing named ones, as docker does on first use), and at
/// start the local driver's mount, docker's copy-up of the image's content into an empty volume, and the
/// ownership a user-namespaced container needs. The last running user's stop unmounts a driver mount.
/// </summary>
public sealed partial class ContainerManager
{
    private VolumeManager? volumes;

    public VolumeManager Volumes => volumes ??= new VolumeManager(paths, images.Db);

    /// <summary>Checks the mounts and fixes the names of anonymous volumes in the options before the record is written.</summary>
    private static void PrepareVolumeOptions(ContainerOptions o, ContainerImage image)
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
    private void AttachVolumes(ContainerRecord record)
    {
        var used = VolumeSpec.All(record.Options).Where(m => m.Type == "volume")
            .Select(m => (m.Source, record.Options.AnonymousVolumes.Contains(m.Source))).ToList();
        if (used.Count == 0) return;
        var made = Volumes.Store.Attach(record.Id, used);
        CrashPoint.At("create-after-volume-record");
        foreach (string name in made)
            using (Volumes.Lock(name)) Volumes.Finish(name);
    }

    /// <summary>Removes a container's anonymous volumes nobody else uses (Remove-Container -Volumes, -AutoRemove, an undone creation).</summary>
    private void RemoveAnonymousVolumes(ContainerOptions o)
    {
        foreach (string name in o.AnonymousVolumes)
        {
            try
            {
                Volumes.Remove(name, force: true);
            }
            catch (EngineException e) when (e.ErrorId is "VolumeInUse")
            {
                // Another container mounts it too: docker keeps it then.
            }
        }
    }

    /// <summary>At start, under the container's lock and after its root is mounted: each volume ready, mounted, filled.</summary>
    private void PrepareVolumesForStart(ContainerRecord record, string rootfs)
    {
        foreach (var m in VolumeSpec.All(record.Options))
        {
            if (m.Type == "bind" && m.Options == "nocreate" && !Path.Exists(m.Source))
                throw new EngineException("BindSourceNotFound", ErrorKind.ObjectNotFound, m.Source, $"The bind source path {m.Source} does not exist (-Mount type=bind does not create it).");
            if (m.Type != "volume") continue;
            using (Volumes.Lock(m.Source))
            {
                var rec = Volumes.Store.Get(m.Source) ?? throw VolumeManager.NotFound(m.Source);
                if (rec.State == VolumeStore.Creating) Volumes.Finish(m.Source);
                string data = Volumes.DataOf(m.Source);
                var driver = VolumeDriverOptions.Parse(rec.Options, rec.Name);
                if (driver.IsMount && !Mounts.IsMountPoint(data))
                {
                    try
                    {
                        driver.MountAt(data);
                    }
                    catch (NativeException e)
                    {
                        throw new EngineException("VolumeMountFailed", ErrorKind.InvalidOperation, rec.Name, $"Cannot mount volume {rec.Name} ({driver.Type}): {e.Message}", e);
                    }
                }
                if (Directory.EnumerateFileSystemEntries(data).Any()) continue;
                if (m.Options != "nocopy") CopyUp(rootfs, m.Destination, rec.Name, driver.IsMount);
                // docker --userns-remap: a new volume belongs to the remapped root, so root in the container can write it.
                if (driver.Type != "none" && MapsOf(record) is { } maps && !Directory.EnumerateFileSystemEntries(data).Any()
                    && OwnershipShift.OwnerOf(data) == 0)
                    ChownToRoot(data, maps);
            }
        }
    }

    /// <summary>
    /// docker's copy-up: the image's content at the mount point goes into the new, empty volume with owners, modes,
    /// links and extended attributes (cp -a). Only a path that is a real directory in the root is copied: a
    /// symlink on the way could lead out of the container's root, so it is not followed.
    /// </summary>
    private void CopyUp(string rootfs, string destination, string volume, bool mounted)
    {
        string source = rootfs;
        foreach (string part in destination.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            source = Path.Combine(source, part);
            var info = new DirectoryInfo(source);
            if (!info.Exists || info.LinkTarget is not null) return;
        }
        string data = Volumes.DataOf(volume);
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" };
        if (mounted)
        {
            // A driver mount is the volume itself: fill it in place.
            var (c, _, err) = ProcessSpawner.Run("/bin/cp", ["/bin/cp", "-a", "--", source + "/.", data], env, TimeSpan.FromMinutes(30));
            if (c != 0) throw new EngineException("VolumeCopyFailed", ErrorKind.WriteError, volume, $"Copying {destination} of the image into volume {volume} failed: {err.Trim()}");
            return;
        }
        // Copied beside _data and renamed over it, so a kill leaves either the empty volume (copied again next
        // start) or the whole copy, never half of it.
        string tmp = Path.Combine(Volumes.DirOf(volume), "copy-in-progress");
        Storage.LayerStore.DeleteTree(tmp);
        var (code, _, stderr) = ProcessSpawner.Run("/bin/cp", ["/bin/cp", "-a", "--", source, tmp], env, TimeSpan.FromMinutes(30));
        if (code != 0)
        {
            Storage.LayerStore.DeleteTree(tmp);
            throw new EngineException("VolumeCopyFailed", ErrorKind.WriteError, volume, $"Copying {destination} of the image into volume {volume} failed: {stderr.Trim()}");
        }
        Directory.Delete(data);
        Directory.Move(tmp, data);
    }

    /// <summary>After a run: a driver mount (tmpfs, bind, device) comes off when no other container using it runs or starts.</summary>
    private void ReleaseVolumeMounts(ContainerRecord record)
    {
        foreach (var m in VolumeSpec.All(record.Options).Where(m => m.Type == "volume"))
        {
            string data = Volumes.DataOf(m.Source);
            if (!Mounts.IsMountPoint(data)) continue;
            using (Volumes.Lock(m.Source))
            {
                bool others = Volumes.Store.RunningUsers(m.Source, record.Id).Count > 0
                              || Volumes.Store.UserIds(m.Source).Any(id => id != record.Id && File.Exists(StartMarker(id)));
                if (!others) Mounts.Unmount(data, detach: true);
            }
        }
    }
}
