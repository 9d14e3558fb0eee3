using System.IO.Pipelines;
using PSContainer.Engine.Files;
using PSContainer.Engine.Images;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>How Copy-ContainerItem copies.</summary>
public sealed class CopyOptions
{
    /// <summary>Keep owners (docker cp -a); otherwise the copy belongs to whoever receives it (the container's root, or this process).</summary>
    public bool Archive { get; init; }
    /// <summary>Refuse to replace a directory with a non-directory or the reverse (the archive API's noOverwriteDirNonDir).</summary>
    public bool NoOverwriteDirNonDir { get; init; }
    public IProgress<ProgressInfo>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
}

/// <summary>What a copy did.</summary>
public sealed record CopyResult(string Destination, long Entries, long Bytes);

/// <summary>
/// Files in and out of containers (docker cp, docker export). Every path inside a container is resolved by the
/// kernel inside the container's root (openat2 RESOLVE_IN_ROOT against a descriptor of that root, through
/// <see cref="RootedDirectory"/>), and every leaf is read or written through its parent's descriptor without
/// following it: a symlink in the container — absolute, with "..", or swapped in while the copy runs
/// (CVE-2018-15664) — resolves to a path inside the container's root, never to the host's. No code of the
/// container runs in the copy (CVE-2019-14271: docker's helper loaded the container's libnss).
///
/// Which root: a running (or paused) container's root is only in its own mount namespace (the engine drops the host's
/// overlay mount once it starts), so it is reached as /proc/PID/root of its init. Opening that magic link from here
/// gives a descriptor of the container's root directory; resolving beneath it with RESOLVE_IN_ROOT walks the
/// container's mount tree, so its volumes and bind mounts appear where they do inside, as docker cp shows them, and
/// no helper process has to join the namespace. A stopped container's overlay, with its volumes and binds
/// (ContainerManager.CopyMounts.cs), is mounted for the copy under its directory (a marker recorded first, so a killed session's mount is undone by the next command that takes the
/// container's lock, and by Repair-ContainerState), and unmounted after.
/// </summary>
public sealed partial class ContainerManager
{
    private const string CopyMarkerName = "copy-in-progress";

    private string CopyMarker(string id) => Path.Combine(ContainerDir(id), CopyMarkerName);

    private string CopyMount(string id) => Path.Combine(ContainerDir(id), "copy-root");

    /// <summary>Copies a container path to a host path (docker cp CONTAINER:SRC DEST).</summary>
    public CopyResult CopyFromContainer(string idOrName, string containerPath, string hostDestination, CopyOptions options) =>
        WithContainerRoot(idOrName, write: false, mergedOnly: false, (record, root) =>
        {
            var source = ResolveSource(root, containerPath, record.Name);
            string full = Path.GetFullPath(hostDestination);
            using var host = RootedDirectory.Open("/");
            var target = ResolveDestination(host, full, source, "(host)");
            // The destination directory itself is the root of what is written: nothing the container's tar holds
            // can reach past it on the host.
            using var into = RootedDirectory.Open("/" + target.Directory);
            var maps = MapsOfRecorded(record);
            var archive = new ArchiveOptions
            {
                Owner = options.Archive ? null : (ProcessIdentity.EffectiveUserId, ProcessIdentity.EffectiveGroupId),
                MapUid = maps is null ? null : id => ToContainerId(maps.Uid, id),
                MapGid = maps is null ? null : id => ToContainerId(maps.Gid, id),
                Cancel = options.Cancel,
            };
            var extract = new ExtractOptions { Whiteouts = false, Cancel = options.Cancel };
            var result = Transfer(source, target.TopName, archive, into, extract, options, full);
            return result with { Destination = Path.Combine("/" + target.Directory, target.TopName) };
        });

    /// <summary>Writes a container path as a tar stream (docker cp CONTAINER:SRC -).</summary>
    public CopyResult CopyFromContainerAsTar(string idOrName, string containerPath, Stream output, CopyOptions options) =>
        ArchiveSource(idOrName, containerPath, dockerd: false, (_, _) => output, options); // ContainerManager.PathStat.cs

    /// <summary>Copies a host path into a container (docker cp SRC CONTAINER:DEST).</summary>
    public CopyResult CopyToContainer(string idOrName, string hostSource, string containerDestination, CopyOptions options) =>
        WithContainerRoot(idOrName, write: true, mergedOnly: false, (record, root) =>
        {
            using var host = RootedDirectory.Open("/");
            string full = Path.GetFullPath(hostSource);
            var source = ResolveSource(host, full + (hostSource.EndsWith("/.") ? "/." : hostSource.EndsWith('/') ? "/" : ""), "(host)");
            var target = ResolveDestination(root, containerDestination, source, record.Name);
            RefuseReadOnlyMount(record, "/" + Join(target.Directory, target.TopName));
            var maps = MapsOfRecorded(record);
            var archive = new ArchiveOptions { Owner = options.Archive ? null : (0u, 0u), Cancel = options.Cancel };
            var extract = new ExtractOptions
            {
                Prefix = target.Directory,
                Whiteouts = false,
                MapUid = maps is null ? null : id => ToHostId(maps.Uid, id),
                MapGid = maps is null ? null : id => ToHostId(maps.Gid, id),
                Cancel = options.Cancel,
            };
            var result = Transfer(source, target.TopName, archive, root, extract, options, full);
            return result with { Destination = "/" + Join(target.Directory, target.TopName) };
        });

    /// <summary>Unpacks a tar stream into a directory of a container (docker cp - CONTAINER:DIR).</summary>
    public CopyResult CopyTarToContainer(string idOrName, Stream tar, string containerDirectory, CopyOptions options) =>
        WithContainerRoot(idOrName, write: true, mergedOnly: false, (record, root) =>
        {
            string dir = CleanContainerPath(containerDirectory);
            RefuseReadOnlyMount(record, dir);
            using (var existing = root.TryOpenDirectory(dir))
                if (existing is null)
                    throw new EngineException("DestinationNotFound", ErrorKind.ObjectNotFound, containerDirectory,
                        $"The destination directory '{containerDirectory}' does not exist in container {record.Name}; a tar is unpacked into an existing directory.");
            var maps = MapsOfRecorded(record);
            long bytes = 0;
            var applied = LayerApplier.Apply(tar, root, new ExtractOptions
            {
                Prefix = dir,
                Whiteouts = false,
                Owner = options.Archive ? null : (0u, 0u),
                MapUid = maps is null ? null : id => ToHostId(maps.Uid, id),
                MapGid = maps is null ? null : id => ToHostId(maps.Gid, id),
                RequireEndOfArchive = true,
                NoOverwriteDirNonDir = options.NoOverwriteDirNonDir,
                OnBytes = n => Report(options, ref bytes, n, "Unpacking"),
                Cancel = options.Cancel,
            });
            return new CopyResult("/" + dir, applied.Entries, applied.Bytes);
        });

    /// <summary>The container's merged file system as a tar (docker export): image layers and its changes, no volumes.</summary>
    public CopyResult Export(string idOrName, Stream output, IProgress<ProgressInfo>? progress, CancellationToken cancel) =>
        WithContainerRoot(idOrName, write: false, mergedOnly: true, (record, root) =>
        {
            var maps = MapsOfRecorded(record);
            var options = new CopyOptions { Progress = progress, Cancel = cancel };
            long bytes = 0;
            var archiver = new TreeArchiver(output, new ArchiveOptions
            {
                MapUid = maps is null ? null : id => ToContainerId(maps.Uid, id),
                MapGid = maps is null ? null : id => ToContainerId(maps.Gid, id),
                OnBytes = n => Report(options, ref bytes, n, $"Exporting {record.Name}"),
                Cancel = cancel,
            });
            using (var top = root.OpenDirectory("", create: false)) archiver.AddChildren(top, "");
            archiver.Finish();
            return new CopyResult("-", archiver.Entries, bytes);
        });

    // ---- the container's root ---------------------------------------------------------------------------------

    /// <summary>
    /// Runs <paramref name="work"/> with the container's root, under the container's lock (a copy and a start,
    /// stop or removal never overlap). <paramref name="mergedOnly"/>: the image and the container's own changes,
    /// never what the running container has mounted (/proc, volumes): what export and commit want.
    /// </summary>
    private T WithContainerRoot<T>(string idOrName, bool write, bool mergedOnly, Func<ContainerRecord, RootedDirectory, T> work)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName))
                     ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            UndoInterruptedCopy(record.Id);
            if (record.State is ContainerState.Running or ContainerState.Paused && !mergedOnly)
            {
                RootedDirectory root;
                try
                {
                    root = RootedDirectory.Open($"/proc/{record.Pid}/root");
                }
                catch (NativeException e)
                {
                    throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, record.Name, $"Container {record.Name} stopped while its root was opened: {e.Message}", e);
                }
                using (root) return work(record, root);
            }

            string mount = CopyMount(record.Id), dir = ContainerDir(record.Id);
            string upper = Path.Combine(dir, "upper"), workDir = Path.Combine(dir, "work");
            var lowers = images.LayersOf(record.ImageId).OrderByDescending(l => l.Position).Select(l => images.Layers.DiffOf(l.ChainId)).ToList();
            foreach (string lower in lowers)
                if (!Directory.Exists(lower))
                    throw new EngineException("LayerMissing", ErrorKind.ObjectNotFound, lower, $"Layer directory {lower} of image {record.Image} is missing.");
            Rootfs.MakeDirectories(record.Id, mount, upper, workDir);
            // Recorded before the mount exists: a session killed with the overlay mounted leaves the marker, and
            // whoever next holds the lock unmounts it (UndoInterruptedCopy).
            WriteMarker(CopyMarker(record.Id));
            try
            {
                // Volumes and binds need their mount points, which the first start makes in the upper layer (the
                // container is stopped and locked, so a writable overlay disturbs nobody).
                var copyMounts = mergedOnly ? new List<ContainerMount>() : CopyMountsOf(record);
                if (write || copyMounts.Count > 0) Rootfs.Mount(record.Id, record.Name, MapsOf(record), lowers, upper, workDir, mount);
                // Read-only: the upper directory as the top lower layer, no work directory, so a running container's
                // own overlay (which holds upper and work) is not disturbed and its deletions still hide files.
                else Rootfs.MountReadOnlyView(record.Id, [upper, .. lowers], mount);
                if (copyMounts.Count > 0) MountVolumesForCopy(record, mount, copyMounts);
                CrashPoint.At("copy-after-mount");
                using var root = RootedDirectory.Open(mount);
                return work(record, root);
            }
            finally
            {
                UndoInterruptedCopy(record.Id);
            }
        }
    }

    /// <summary>Under the container's lock: unmounts a copy's overlay a killed session left, and clears its marker.</summary>
    private void UndoInterruptedCopy(string id)
    {
        if (!File.Exists(CopyMarker(id))) return;
        Rootfs.Unmount(id, CopyMount(id));
        Durable.DeleteFile(CopyMarker(id));
    }

    private static uint ToHostId(IdMapping map, uint id) =>
        id >= map.Inside && id < map.Inside + map.Count ? (uint)(id - map.Inside + map.Outside) : id;

    private static uint ToContainerId(IdMapping map, uint id) =>
        id >= map.Outside && id < map.Outside + map.Count ? (uint)(id - map.Outside + map.Inside) : id;

    // ---- path rules (docker cp's) -------------------------------------------------------------------------------

    private sealed record CopySource(RootedDirectory Root, string Parent, string Leaf, string Clean, FileStat Stat, bool ContentsOnly, string Shown);

    private sealed record CopyTarget(string Directory, string TopName);

    /// <summary>A path in a root cleaned as docker does (filepath.Clean from "/"): ".." never climbs above the root.</summary>
    internal static string CleanContainerPath(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    private static (string Parent, string Leaf) Split(string clean)
    {
        int slash = clean.LastIndexOf('/');
        return slash < 0 ? ("", clean) : (clean[..slash], clean[(slash + 1)..]);
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : b.Length == 0 ? a : a + "/" + b;

    private static CopySource ResolveSource(RootedDirectory root, string path, string where)
    {
        if (path.Contains('\0')) throw new EngineException("InvalidPath", ErrorKind.InvalidArgument, path, "The path contains a NUL character.");
        bool contents = path.EndsWith("/.", StringComparison.Ordinal) || path == ".";
        bool mustBeDirectory = contents || path.EndsWith('/');
        string clean = CleanContainerPath(path);
        var (parent, leaf) = Split(clean);
        FileStat? st;
        using (var dir = root.TryOpenDirectory(parent)) st = dir?.Stat(leaf);
        if (mustBeDirectory && st is not null && st.Type != Sys.S_IFDIR)
        {
            // "link/." and "link/" name the directory the link leads to, resolved inside the root as any path.
            using var target = root.TryOpenDirectory(clean);
            if (target is not null) st = target.Stat("");
            else if (st.Type == Sys.S_IFLNK) st = null;
            else throw new EngineException("NotADirectory", ErrorKind.InvalidArgument, path, $"'{path}' is not a directory.");
        }
        if (st is null)
            throw new EngineException("PathNotFound", ErrorKind.ObjectNotFound, path, $"Could not find the file {path} in {(where == "(host)" ? "the host" : "container " + where)}.");
        // The root itself: its contents.
        return new CopySource(root, parent, leaf, clean, st, contents || leaf.Length == 0 || (mustBeDirectory && st.Type == Sys.S_IFDIR && IsLink(root, parent, leaf)), path);
    }

    private static bool IsLink(RootedDirectory root, string parent, string leaf)
    {
        using var dir = root.TryOpenDirectory(parent);
        return dir?.Stat(leaf)?.Type == Sys.S_IFLNK;
    }

    private static CopyTarget ResolveDestination(RootedDirectory root, string path, CopySource source, string where)
    {
        if (path.Contains('\0')) throw new EngineException("InvalidPath", ErrorKind.InvalidArgument, path, "The path contains a NUL character.");
        string clean = CleanContainerPath(path);
        bool isDirectorySource = source.Stat.Type == Sys.S_IFDIR;
        using (var existing = root.TryOpenDirectory(clean))
        {
            // An existing directory (through symlinks, resolved inside the root): the source goes into it.
            if (existing is not null)
            {
                if (source.ContentsOnly) return new CopyTarget(clean, "");
                // docker cp never replaces a directory with a file or a file with a directory: it refuses.
                if (existing.Stat(source.Leaf) is { } there && (there.Type == Sys.S_IFDIR) != isDirectorySource)
                    throw new EngineException(isDirectorySource ? "CannotOverwriteWithDirectory" : "CannotOverwriteDirectory", ErrorKind.InvalidArgument, path,
                        $"Cannot copy {(isDirectorySource ? "a directory onto a file" : "a file onto a directory")}: '{Join(clean, source.Leaf)}' exists.");
                return new CopyTarget(clean, source.Leaf);
            }
        }
        var (parent, leaf) = Split(clean);
        using var parentDir = root.TryOpenDirectory(parent)
                              ?? throw new EngineException("DestinationNotFound", ErrorKind.ObjectNotFound, path,
                                  $"The parent directory of '{path}' does not exist{(where == "(host)" ? "" : " in container " + where)}.");
        var st = parentDir.Stat(leaf);
        if (st is null)
        {
            if (path.EndsWith('/') && !isDirectorySource)
                throw new EngineException("DestinationNotFound", ErrorKind.ObjectNotFound, path, $"The destination directory '{path}' does not exist.");
            return new CopyTarget(parent, leaf);
        }
        if (isDirectorySource)
            throw new EngineException("CannotOverwriteWithDirectory", ErrorKind.InvalidArgument, path, $"Cannot copy a directory onto '{path}', which is not a directory.");
        if (path.EndsWith('/'))
            throw new EngineException("NotADirectory", ErrorKind.InvalidArgument, path, $"'{path}' is not a directory.");
        return new CopyTarget(parent, leaf);
    }

    private static void WriteSource(TreeArchiver archiver, CopySource source, string topName)
    {
        if (source.ContentsOnly)
        {
            // Resolved inside the root again (a link to a directory names that directory), then walked without following.
            using var dir = source.Root.OpenDirectory(source.Clean, create: false);
            archiver.AddChildren(dir, topName);
            return;
        }
        using var parent = source.Root.OpenDirectory(source.Parent, create: false);
        archiver.Add(parent, source.Leaf, topName);
    }

    /// <summary>
    /// Streams the source through a tar into the destination: one thread walks and writes, this one unpacks, with
    /// a few MiB in between, so a copy of any size needs neither a temporary file nor its size in memory.
    /// </summary>
    private static CopyResult Transfer(CopySource source, string topName, ArchiveOptions archive, RootedDirectory into, ExtractOptions extract,
        CopyOptions options, string shown)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20));
        var producer = Task.Run(() =>
        {
            try
            {
                var archiver = new TreeArchiver(pipe.Writer.AsStream(leaveOpen: true), archive);
                WriteSource(archiver, source, topName);
                archiver.Finish();
                pipe.Writer.Complete();
            }
            catch (Exception e)
            {
                pipe.Writer.Complete(e);
                throw;
            }
        });
        long bytes = 0;
        LayerApplyResult applied;
        try
        {
            using var input = pipe.Reader.AsStream(leaveOpen: true);
            applied = LayerApplier.Apply(input, into, new ExtractOptions
            {
                Prefix = extract.Prefix,
                Whiteouts = false,
                MapUid = extract.MapUid,
                MapGid = extract.MapGid,
                RequireEndOfArchive = true,
                OnBytes = n => Report(options, ref bytes, n, "Copying " + source.Shown),
                Cancel = options.Cancel,
            });
            pipe.Reader.Complete();
        }
        catch (Exception e)
        {
            pipe.Reader.Complete(e);
            try { producer.GetAwaiter().GetResult(); }
            catch (Exception first) when (first is EngineException or NativeException or IOException) { throw Wrap(first, shown); }
            throw;
        }
        try { producer.GetAwaiter().GetResult(); }
        catch (Exception e) when (e is NativeException or IOException) { throw Wrap(e, shown); }
        options.Progress?.Report(new ProgressInfo(0, "Copying " + source.Shown, "Done", bytes, bytes, Completed: true));
        return new CopyResult(shown, applied.Entries, applied.Bytes);
    }

    private static Exception Wrap(Exception e, string shown) => e is EngineException ? e
        : new EngineException("CopyFailed", ErrorKind.ReadError, shown, $"Copy failed: {e.Message}", e);

    private static DateTime lastCopyReport;

    private static void Report(CopyOptions options, ref long bytes, long n, string activity)
    {
        bytes += n;
        if (options.Progress is null || (DateTime.UtcNow - lastCopyReport).TotalMilliseconds < 200) return;
        lastCopyReport = DateTime.UtcNow;
        options.Progress.Report(new ProgressInfo(0, activity, $"{bytes / 1048576.0:F1} MiB", bytes, 0));
    }
}
