using PSContainer.Engine.Archives;
using PSContainer.Native;

namespace PSContainer.Engine.Storage;

/// <summary>What applying one layer produced.</summary>
public sealed record LayerApplyResult(long Entries, long Bytes);

/// <summary>
/// Unpacks one uncompressed layer tar into its own directory, ready to be an overlayfs lower dir: OCI whiteouts
/// become overlay whiteouts (a 0/0 character device) and opaque directories (trusted.overlay.opaque=y).
///
/// The tar is untrusted. Names are cleaned lexically (leading "/" dropped, "." ignored); a ".." that would climb
/// out of the layer is refused. Everything is then created through <see cref="RootedDirectory"/>, which resolves
/// every path in the kernel with RESOLVE_IN_ROOT: a symlink in the layer (absolute, relative, or swapped in for a
/// directory) can only ever point back inside the layer, and leaf operations never follow symlinks. Hard links
/// are resolved the same way, so they cannot reach a file outside the layer either.
/// </summary>
public static class LayerApplier
{
    public const string WhiteoutPrefix = ".wh.";
    public const string OpaqueMarker = ".wh..wh..opq";
    public const string OpaqueXattr = "trusted.overlay.opaque";

    public static LayerApplyResult Apply(Stream uncompressedTar, string layerDirectory, CancellationToken cancel = default, bool requireEndOfArchive = false, SpaceGuard? space = null)
    {
        using var root = RootedDirectory.Open(layerDirectory);
        return Apply(uncompressedTar, root, new ExtractOptions { Cancel = cancel, RequireEndOfArchive = requireEndOfArchive, Space = space });
    }

    /// <summary>
    /// Unpacks a tar into a rooted tree under <see cref="ExtractOptions.Prefix"/> (a copy into a container: the root
    /// is the container's, so nothing in the tar, nor any symlink already in the container, leads outside it).
    /// </summary>
    public static LayerApplyResult Apply(Stream uncompressedTar, RootedDirectory root, ExtractOptions options)
    {
        var cancel = options.Cancel;
        var space = options.Space;
        var reader = new TarReader(uncompressedTar, options.RequireEndOfArchive);
        // One time per directory: a directory listed twice takes its last entry's times, as tar does.
        var directoryTimes = new Dictionary<string, (DateTimeOffset Access, DateTimeOffset Modified)>(StringComparer.Ordinal);
        long entries = 0, bytes = 0;
        var buffer = new byte[1 << 17];

        TarHeader? entry;
        while ((entry = reader.Next()) is not null)
        {
            cancel.ThrowIfCancellationRequested();
            entries++;
            string path = CleanPath(entry.Name);
            if (options.Prefix.Length > 0) path = path.Length == 0 ? options.Prefix : options.Prefix + "/" + path;
            if (!options.Whiteouts || options.MapUid is not null || options.Owner is not null)
                entry = options.Adjust(entry);
            try
            {
                bytes += ApplyEntry(root, reader, entry, path, directoryTimes, buffer, space, options);
                options.OnBytes?.Invoke(entry.Kind == TarEntryKind.File ? entry.Size : 0);
            }
            catch (NativeException e)
            {
                throw new EngineException("LayerEntryFailed", ErrorKind.InvalidData, entry.Name,
                    $"Cannot apply layer entry '{entry.Name}': {e.Message}", e);
            }
        }

        // Directory times last: creating children changes a directory's mtime (setting a time does not).
        foreach (var (dirPath, (access, modified)) in directoryTimes)
        {
            SplitParent(dirPath, out string parent, out string leaf);
            try
            {
                using var handle = root.OpenDirectory(parent, create: false);
                if (leaf.Length == 0 || handle.TypeOf(leaf) == Sys.S_IFDIR) handle.SetTimes(leaf, access, modified);
            }
            catch (NativeException e) when (e.Errno is Errors.ENOENT or Errors.ENOTDIR)
            {
                // A later member replaced this directory; its times went with it.
            }
        }
        return new LayerApplyResult(entries, bytes);
    }

    private static long ApplyEntry(RootedDirectory root, TarReader reader, TarHeader entry, string path,
        Dictionary<string, (DateTimeOffset, DateTimeOffset)> directoryTimes, byte[] buffer, SpaceGuard? space, ExtractOptions options)
    {
        SplitParent(path, out string parentPath, out string name);
        DateTimeOffset access = entry.AccessTime ?? entry.ModificationTime;

        if (name.Length == 0 && path.Length == 0)
        {
            // The layer root itself ("./"): its attributes, nothing to create.
            if (entry.Kind != TarEntryKind.Directory) throw Refuse(entry, "the layer root can only be a directory");
            using var self = root.OpenDirectory("", create: false);
            SetAttributes(self, "", entry, isSymlink: false);
            directoryTimes[""] = (access, entry.ModificationTime);
            return 0;
        }

        using var parent = root.OpenDirectory(parentPath, create: true);

        if (options.Whiteouts && name == OpaqueMarker)
        {
            parent.SetXattr("", OpaqueXattr, "y"u8.ToArray());
            return 0;
        }
        if (options.Whiteouts && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            string hidden = name[WhiteoutPrefix.Length..];
            if (hidden.Length == 0 || hidden == "." || hidden == "..") throw Refuse(entry, "whiteout of an invalid name");
            // A whiteout hides the name in lower layers; if this layer itself already put something there, that
            // content is what the layer means, so leave it.
            if (parent.TypeOf(hidden) == 0) parent.MakeNode(hidden, Sys.S_IFCHR, 0, 0);
            return 0;
        }

        uint existing = parent.TypeOf(name);
        if (existing != 0)
        {
            // Tar semantics: a later member replaces an earlier one, except that a directory over a directory
            // only updates its attributes.
            if (existing == Sys.S_IFDIR && entry.Kind == TarEntryKind.Directory) { }
            else if (options.NoOverwriteDirNonDir && (existing == Sys.S_IFDIR) != (entry.Kind == TarEntryKind.Directory))
                throw new EngineException("CannotOverwriteDirNonDir", ErrorKind.InvalidArgument, entry.Name, existing == Sys.S_IFDIR
                    ? $"cannot overwrite directory \"/{path}\" with non-directory \"{entry.Name}\""
                    : $"cannot overwrite non-directory \"/{path}\" with directory \"{entry.Name}\"");
            else parent.RemoveTree(name);
        }

        long written = 0;
        switch (entry.Kind)
        {
            case TarEntryKind.Directory:
                if (existing != Sys.S_IFDIR) parent.MakeDirectory(name, 0x1C0 /*0700 until attributes are set*/);
                SetAttributes(parent, name, entry, isSymlink: false);
                directoryTimes[path] = (access, entry.ModificationTime);
                return 0;

            case TarEntryKind.File:
                using (var handle = parent.CreateFile(name))
                {
                    using (var output = new FileStream(handle, FileAccess.Write, 1))
                    {
                        Stream data = reader.Data;
                        int n;
                        while ((n = data.Read(buffer, 0, buffer.Length)) > 0)
                        {
                            output.Write(buffer, 0, n);
                            written += n;
                            space?.Written(n);
                        }
                    }
                }
                break;

            case TarEntryKind.Symlink:
                parent.MakeSymlink(name, entry.LinkName);
                SetOwnerAndTimes(parent, name, entry, isSymlink: true);
                return 0;

            case TarEntryKind.HardLink:
            {
                string target = CleanPath(entry.LinkName);
                if (target.Length > 0 && options.Prefix.Length > 0) target = options.Prefix + "/" + target;
                if (target.Length == 0) throw Refuse(entry, "hard link to the layer root");
                SplitParent(target, out string targetParentPath, out string targetName);
                using var targetParent = root.OpenDirectory(targetParentPath, create: false);
                uint targetType = targetParent.TypeOf(targetName);
                if (targetType == 0) throw Refuse(entry, $"hard link target '{entry.LinkName}' is not in this layer");
                if (targetType == Sys.S_IFDIR) throw Refuse(entry, "hard link to a directory");
                parent.MakeHardLink(name, targetParent, targetName);
                return 0;
            }

            case TarEntryKind.CharDevice:
                parent.MakeNode(name, Sys.S_IFCHR, entry.DeviceMajor, entry.DeviceMinor);
                break;
            case TarEntryKind.BlockDevice:
                parent.MakeNode(name, Sys.S_IFBLK, entry.DeviceMajor, entry.DeviceMinor);
                break;
            case TarEntryKind.Fifo:
                parent.MakeNode(name, Sys.S_IFIFO, 0, 0);
                break;
        }
        SetAttributes(parent, name, entry, isSymlink: false);
        return written;
    }

    private static void SetAttributes(DirectoryHandle parent, string name, TarHeader entry, bool isSymlink)
    {
        // Owner before mode: chown clears setuid/setgid bits.
        parent.SetOwner(name, entry.Uid, entry.Gid);
        if (!isSymlink) parent.SetMode(name, entry.Mode);
        SetXattrs(parent, name, entry, isSymlink);
        if (entry.Kind != TarEntryKind.Directory)
            parent.SetTimes(name, entry.AccessTime ?? entry.ModificationTime, entry.ModificationTime);
    }

    private static void SetOwnerAndTimes(DirectoryHandle parent, string name, TarHeader entry, bool isSymlink)
    {
        parent.SetOwner(name, entry.Uid, entry.Gid);
        SetXattrs(parent, name, entry, isSymlink);
        parent.SetTimes(name, entry.AccessTime ?? entry.ModificationTime, entry.ModificationTime);
    }

    private static void SetXattrs(DirectoryHandle parent, string name, TarHeader entry, bool isSymlink)
    {
        foreach (var (key, value) in entry.Xattrs)
        {
            // overlay's own attributes would let a layer redirect or un-hide paths in the mounted tree.
            if (key.StartsWith("trusted.overlay.", StringComparison.Ordinal)) continue;
            try
            {
                parent.SetXattr(name, key, value);
            }
            catch (NativeException e) when (isSymlink && e.Errno is Errors.EPERM or Errors.EOPNOTSUPP)
            {
                // user.* attributes are not allowed on symlinks by the kernel; tar does the same and moves on.
            }
        }
    }

    /// <summary>
    /// Cleans a member name to a layer-relative path: "/" and "./" prefixes dropped, "." components removed.
    /// A ".." that climbs above the layer root is refused rather than clamped, since only a hostile archive has one.
    /// </summary>
    public static string CleanPath(string name)
    {
        if (name.Contains('\0')) throw new EngineException("LayerPathInvalid", ErrorKind.SecurityError, name, $"Layer entry name contains a NUL byte.");
        var parts = new List<string>();
        foreach (string part in name.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (parts.Count == 0)
                    throw new EngineException("LayerPathEscapes", ErrorKind.SecurityError, name,
                        $"Layer entry '{name}' points outside the layer; the layer is refused.");
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    private static void SplitParent(string path, out string parent, out string name)
    {
        int slash = path.LastIndexOf('/');
        parent = slash < 0 ? "" : path[..slash];
        name = slash < 0 ? path : path[(slash + 1)..];
    }

    private static EngineException Refuse(TarHeader entry, string why) =>
        new("LayerEntryRefused", ErrorKind.SecurityError, entry.Name, $"Layer entry '{entry.Name}' is refused: {why}.");
}
