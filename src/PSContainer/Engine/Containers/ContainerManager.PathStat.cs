using PSContainer.Engine.Files;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// What a path in a container is, as docker's archive API reports it (the X-Docker-Container-Path-Stat header and
/// HEAD /containers/{id}/archive): the leaf as lstat sees it (a symlink is not followed), with
/// <see cref="LinkTarget"/> the absolute path in the container the link resolves to.
/// </summary>
public sealed record ContainerPathStat(string Name, long Size, uint Type, uint Permissions, DateTimeOffset Modified, string LinkTarget);

/// <summary>
/// The archive API's side of docker cp: a path's stat, and a path as a tar named as dockerd names it, with the stat
/// known before the first byte (the API sends it as a header). Resolution and walking are Copy-ContainerItem's
/// (ContainerManager.Files.cs): inside the container's root, never through a symlink to the host.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>Symlinks followed at most (the kernel's limit), so a loop of links ends.</summary>
    private const int MaxLinkHops = 40;

    /// <summary>The stat of a path in a running or stopped container; PathNotFound (with docker's message) when it is missing.</summary>
    public ContainerPathStat StatPath(string idOrName, string containerPath) =>
        WithContainerRoot(idOrName, write: false, mergedOnly: false, (record, root) => StatOf(root, ResolveArchiveSource(root, containerPath, record.Name)));

    /// <summary>
    /// Writes a container path as a tar to the stream <paramref name="open"/> returns once the path's stat is known.
    /// Entries are named from the path's last element ("dir/…"), "." for a directory's contents ("dir/." or "/"), as
    /// dockerd's GET /containers/{id}/archive names them, which is what the docker CLI rebases on.
    /// </summary>
    public CopyResult ArchivePath(string idOrName, string containerPath, Func<ContainerPathStat, Stream> open, CopyOptions options) =>
        ArchiveSource(idOrName, containerPath, dockerd: true, (root, source) => open(StatOf(root, source)), options);

    /// <summary>
    /// A container path as a tar (owners as the container sees them, as docker's tar keeps them). dockerd's naming
    /// and message for the archive API; otherwise Copy-ContainerItem -AsTar's: a directory's contents at the top.
    /// </summary>
    private CopyResult ArchiveSource(string idOrName, string containerPath, bool dockerd, Func<RootedDirectory, CopySource, Stream> open, CopyOptions options) =>
        WithContainerRoot(idOrName, write: false, mergedOnly: false, (record, root) =>
        {
            var source = dockerd ? ResolveArchiveSource(root, containerPath, record.Name) : ResolveSource(root, containerPath, record.Name);
            var output = open(root, source);
            var maps = MapsOfRecorded(record);
            long bytes = 0;
            var archiver = new TreeArchiver(output, new ArchiveOptions
            {
                MapUid = maps is null ? null : id => ToContainerId(maps.Uid, id),
                MapGid = maps is null ? null : id => ToContainerId(maps.Gid, id),
                OnBytes = n => Report(options, ref bytes, n, "Copying"),
                Cancel = options.Cancel,
            });
            string top = !dockerd ? (source.ContentsOnly ? "" : source.Leaf)
                : source.ContentsOnly && (source.Clean.Length == 0 || containerPath.EndsWith("/.", StringComparison.Ordinal) || containerPath == ".") ? "."
                : source.Leaf;
            WriteSource(archiver, source, top);
            archiver.Finish();
            return new CopyResult("-", archiver.Entries, bytes);
        });

    /// <summary>docker cp's source rules, with dockerd's message for a missing path.</summary>
    private static CopySource ResolveArchiveSource(RootedDirectory root, string containerPath, string name)
    {
        try
        {
            return ResolveSource(root, containerPath, name);
        }
        catch (EngineException e) when (e.ErrorId == "PathNotFound")
        {
            throw new EngineException("PathNotFound", ErrorKind.ObjectNotFound, containerPath, $"Could not find the file {containerPath} in container {name}");
        }
    }

    private static ContainerPathStat StatOf(RootedDirectory root, CopySource source)
    {
        // dockerd reports the leaf itself, not what a trailing "/" or "/." resolved it to.
        FileStat st;
        using (var parent = root.TryOpenDirectory(source.Parent)) st = (source.Leaf.Length == 0 ? parent?.Stat("") : parent?.Stat(source.Leaf)) ?? source.Stat;
        string name = source.Leaf.Length == 0 ? "/" : source.Leaf;
        string link = st.Type == Sys.S_IFLNK ? ResolveLink(root, source.Parent, source.Leaf) : "";
        return new ContainerPathStat(name, st.Size, st.Type, st.Mode, st.Modified, link);
    }

    /// <summary>
    /// Where a symlink leads, inside the container's root: each hop read without following and cleaned against the
    /// root (so "../../.." stops at "/"), until a leaf that is not a link, a missing one, or <see cref="MaxLinkHops"/>.
    /// </summary>
    private static string ResolveLink(RootedDirectory root, string parent, string leaf)
    {
        for (int hop = 0; hop < MaxLinkHops; hop++)
        {
            using var dir = root.TryOpenDirectory(parent);
            if (dir?.Stat(leaf) is not { Type: Sys.S_IFLNK }) break;
            string target = dir.ReadLink(leaf);
            string next = CleanContainerPath(target.StartsWith('/') ? target : Join(parent, target));
            (parent, leaf) = Split(next);
        }
        return "/" + Join(parent, leaf);
    }
}
