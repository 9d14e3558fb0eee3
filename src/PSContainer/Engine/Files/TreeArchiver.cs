using System.Formats.Tar;
using System.Text;
using PSContainer.Native;

namespace PSContainer.Engine.Files;

/// <summary>How <see cref="TreeArchiver"/> writes what it finds.</summary>
public sealed class ArchiveOptions
{
    /// <summary>Owner ids as the reader should see them (a user namespace's host ids back to the container's); null keeps them.</summary>
    public Func<uint, uint>? MapUid { get; init; }
    public Func<uint, uint>? MapGid { get; init; }

    /// <summary>Every entry gets this owner instead (docker cp without -a: the copy belongs to whoever receives it).</summary>
    public (uint Uid, uint Gid)? Owner { get; init; }

    /// <summary>The tree is an overlayfs upper directory: its whiteouts and opaque directories become OCI ones.</summary>
    public bool OverlayWhiteouts { get; init; }

    /// <summary>Called with the bytes of file data written (progress).</summary>
    public Action<long>? OnBytes { get; init; }

    public CancellationToken Cancel { get; init; }

    /// <summary>Entries left out (by archive name and lstat), with everything under them.</summary>
    public Func<string, FileStat, bool>? Skip { get; init; }
}

/// <summary>
/// Writes a tree (or one leaf of it) as a PAX tar: files with mode, owner, times, extended attributes, symlinks as
/// links, hard links once, devices and FIFOs. The tree is walked through directory descriptors, one leaf at a time
/// without following it (<see cref="DirectoryHandle"/>), so a symlink swapped in while the tree is read (a running
/// container racing the copy, CVE-2018-15664) is archived as the link it is and never walked through.
/// </summary>
public sealed class TreeArchiver
{
    private readonly TarWriter tar;
    private readonly ArchiveOptions options;
    private readonly Dictionary<(ulong, ulong), string> hardLinks = new();
    private readonly byte[] buffer = new byte[1 << 17];

    private readonly Stream output;

    public TreeArchiver(Stream output, ArchiveOptions options)
    {
        tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        this.output = output;
        this.options = options;
    }

    public long Entries { get; private set; }

    /// <summary>Writes the leaf <paramref name="name"/> of <paramref name="parent"/> as <paramref name="archiveName"/>, and everything under it.</summary>
    public void Add(DirectoryHandle parent, string name, string archiveName)
    {
        var st = parent.Stat(name) ?? throw new EngineException("PathNotFound", ErrorKind.ObjectNotFound, archiveName, $"'{archiveName}' vanished while it was copied.");
        AddEntry(parent, name, archiveName, st);
    }

    /// <summary>Writes the children of a directory, named relative to it with <paramref name="prefix"/> (empty for a whole root).</summary>
    public void AddChildren(DirectoryHandle directory, string prefix)
    {
        foreach (string child in directory.List().OrderBy(c => c, StringComparer.Ordinal))
        {
            options.Cancel.ThrowIfCancellationRequested();
            if (directory.Stat(child) is { } st) AddEntry(directory, child, prefix.Length == 0 ? child : prefix + "/" + child, st);
        }
    }

    /// <summary>Ends the archive (its two zero blocks).</summary>
    /// <summary>Ends the archive. .NET's TarWriter writes the end-of-archive blocks only after an entry, so an
    /// archive of nothing (the content of an empty directory, "dir/.") gets them here: it is a whole, empty tar, not
    /// a truncated one.</summary>
    public void Finish()
    {
        bool empty = Entries == 0;
        tar.Dispose();
        if (empty) output.Write(new byte[1024]);
    }

    private void AddEntry(DirectoryHandle parent, string name, string archiveName, FileStat st)
    {
        options.Cancel.ThrowIfCancellationRequested();
        if (options.Skip?.Invoke(archiveName, st) == true) return;
        var xattrs = st.Type == Sys.S_IFLNK ? new Dictionary<string, byte[]>() : parent.Xattrs(name);
        bool opaque = false;
        if (options.OverlayWhiteouts)
        {
            if (Containers.UpperLayer.IsWhiteout(st))
            {
                Write(Header(TarEntryType.RegularFile, WhiteoutName(archiveName), st, []));
                return;
            }
            foreach (string key in xattrs.Keys)
                if (key is "trusted.overlay.redirect" or "trusted.overlay.metacopy")
                    throw new EngineException("UpperLayerUnsupported", ErrorKind.InvalidOperation, archiveName,
                        $"'{archiveName}' is a renamed directory or metadata-only copy ({key}); overlayfs redirect_dir/metacopy layers cannot be committed.");
            opaque = xattrs.TryGetValue("trusted.overlay.opaque", out var o) && o is [(byte)'y'];
        }
        var kept = xattrs.Where(x => !x.Key.StartsWith("trusted.overlay.", StringComparison.Ordinal)).ToList();

        switch (st.Type)
        {
            case Sys.S_IFDIR:
            {
                Write(Header(TarEntryType.Directory, archiveName + "/", st, kept));
                using var child = parent.OpenChild(name);
                if (opaque) Write(Header(TarEntryType.RegularFile, archiveName + "/" + OpaqueName, st with { Mode = 0 }, []));
                AddChildren(child, archiveName);
                return;
            }
            case Sys.S_IFREG:
            {
                if (st.Links > 1)
                {
                    if (hardLinks.TryGetValue((st.Device, st.Inode), out string? first))
                    {
                        var link = Header(TarEntryType.HardLink, archiveName, st, kept);
                        link.LinkName = first;
                        Write(link);
                        return;
                    }
                    hardLinks[(st.Device, st.Inode)] = archiveName;
                }
                var entry = Header(TarEntryType.RegularFile, archiveName, st, kept);
                using var handle = parent.OpenRegularFile(name);
                using var data = new CountingStream(new FileStream(handle, FileAccess.Read, 1), options.OnBytes, st.Size);
                entry.DataStream = data;
                Write(entry);
                return;
            }
            case Sys.S_IFLNK:
            {
                var entry = Header(TarEntryType.SymbolicLink, archiveName, st, kept);
                entry.LinkName = parent.ReadLink(name);
                Write(entry);
                return;
            }
            case Sys.S_IFCHR or Sys.S_IFBLK:
            {
                var entry = Header(st.Type == Sys.S_IFCHR ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, archiveName, st, kept);
                entry.DeviceMajor = (int)st.RdevMajor;
                entry.DeviceMinor = (int)st.RdevMinor;
                Write(entry);
                return;
            }
            case Sys.S_IFIFO:
                Write(Header(TarEntryType.Fifo, archiveName, st, kept));
                return;
            default:
                return;   // sockets: tar has no form for them (GNU tar skips them too)
        }
    }

    public const string WhiteoutPrefix = ".wh.", OpaqueName = ".wh..wh..opq";

    /// <summary>The OCI whiteout that stands for a deleted path (overlayfs's 0/0 character device).</summary>
    public static string WhiteoutName(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash < 0 ? WhiteoutPrefix + path : path[..(slash + 1)] + WhiteoutPrefix + path[(slash + 1)..];
    }

    private PaxTarEntry Header(TarEntryType type, string archiveName, FileStat st, IEnumerable<KeyValuePair<string, byte[]>> xattrs)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in xattrs)
        {
            // SCHILY (GNU tar, docker) for text values; libarchive's base64 form for binary ones such as
            // security.capability, which a PAX string cannot carry as raw bytes.
            if (IsText(value)) attributes["SCHILY.xattr." + key] = Encoding.UTF8.GetString(value);
            else attributes["LIBARCHIVE.xattr." + Uri.EscapeDataString(key)] = Convert.ToBase64String(value);
        }
        var entry = new PaxTarEntry(type, archiveName, attributes)
        {
            Mode = (UnixFileMode)(st.Mode & 0xFFF),
            ModificationTime = st.Modified,
        };
        if (options.Owner is { } owner)
        {
            entry.Uid = (int)owner.Uid;
            entry.Gid = (int)owner.Gid;
        }
        else
        {
            entry.Uid = (int)(options.MapUid?.Invoke(st.Uid) ?? st.Uid);
            entry.Gid = (int)(options.MapGid?.Invoke(st.Gid) ?? st.Gid);
        }
        return entry;
    }

    private static bool IsText(byte[] value)
    {
        if (Array.IndexOf(value, (byte)0) >= 0) return false;
        try
        {
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private void Write(PaxTarEntry entry)
    {
        tar.WriteEntry(entry);
        Entries++;
    }

    /// <summary>Reports bytes read and stops at the size lstat gave, so a file growing while it is read cannot break the tar.</summary>
    private sealed class CountingStream(Stream inner, Action<long>? onBytes, long length) : Stream
    {
        private readonly long size = length;
        private long remaining = length;
        public override bool CanRead => true;
        // TarWriter takes the size from a seekable stream's Length (and buffers an unseekable one whole in memory).
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => size;
        public override long Position { get => size - remaining; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (remaining <= 0) return 0;
            int n = inner.Read(buffer, offset, (int)Math.Min(count, remaining));
            if (n == 0)
            {
                // Shrunk while read: pad with zeros so the entry keeps the size already written in its header.
                n = (int)Math.Min(count, remaining);
                Array.Clear(buffer, offset, n);
            }
            remaining -= n;
            onBytes?.Invoke(n);
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) =>
            offset == 0 && (origin == SeekOrigin.Current || (origin == SeekOrigin.Begin && remaining == size)) ? Position : throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
