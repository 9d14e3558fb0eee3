using PSContainer.Engine.Files;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// A container's own changes: its overlayfs upper directory, read as an OCI layer. overlayfs records a deleted path
/// as a 0/0 character device and a directory replaced wholesale as trusted.overlay.opaque=y; the OCI image spec
/// says the same with ".wh.NAME" files and a ".wh..wh..opq" entry, which is what this writes (and what
/// LayerApplier turns back into overlay form). overlay's own trusted.overlay.* attributes are never carried over.
/// Meant to be shared by commit and by anything else that lists a container's changes (docker diff).
/// </summary>
public static partial class UpperLayer
{
    /// <summary>
    /// Writes the upper directory as a layer tar; owners through <paramref name="mapUid"/>/<paramref name="mapGid"/> (a
    /// user namespace's host ids back to the container's). <paramref name="skip"/> leaves out more entries than the
    /// runtime's own mount stubs (a build step's mount points).
    /// </summary>
    public static long Write(string upperDirectory, Stream output, Func<uint, uint>? mapUid, Func<uint, uint>? mapGid, Action<long>? onBytes, CancellationToken cancel,
        Func<string, FileStat, bool>? skip = null)
    {
        var archiver = new TreeArchiver(output, new ArchiveOptions
        {
            OverlayWhiteouts = true, MapUid = mapUid, MapGid = mapGid, OnBytes = onBytes, Cancel = cancel,
            Skip = skip is null ? IsMountStub : (path, stat) => IsMountStub(path, stat) || skip(path, stat),
        });
        if (Directory.Exists(upperDirectory))
        {
            using var root = RootedDirectory.Open(upperDirectory);
            using var top = root.OpenDirectory("", create: false);
            archiver.AddChildren(top, "");
        }
        archiver.Finish();
        return archiver.Entries;
    }

    /// <summary>
    /// The empty files the runtime makes in the upper directory as mount points for the engine's hostname, hosts and
    /// resolv.conf when the image has none. The container never writes them (its writes go to the bind-mounted
    /// files), so they are not its changes; docker keeps them in an init layer that commit leaves out.
    /// </summary>
    public static bool IsMountStub(string path, FileStat stat) =>
        path is "etc/hostname" or "etc/hosts" or "etc/resolv.conf" && stat.Type == Sys.S_IFREG && stat.Size == 0;

    /// <summary>Whether an lstat of an upper-directory entry is overlayfs's whiteout (a deletion).</summary>
    public static bool IsWhiteout(FileStat stat) => stat.Type == Sys.S_IFCHR && stat.RdevMajor == 0 && stat.RdevMinor == 0;
}
