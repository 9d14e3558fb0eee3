using System.Text;
using PSContainer.Engine.Oci;
using PSContainer.Native;

namespace PSContainer.Engine.Archives;

public enum TarEntryKind { File, HardLink, Symlink, CharDevice, BlockDevice, Directory, Fifo }

/// <summary>One member of a tar archive, with every attribute an image layer can carry.</summary>
public sealed class TarHeader
{
    public string Name { get; init; } = "";
    public string LinkName { get; init; } = "";
    public TarEntryKind Kind { get; init; }
    /// <summary>Permission bits including setuid, setgid and sticky (07777).</summary>
    public uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public long Size { get; init; }
    public DateTimeOffset ModificationTime { get; init; }
    public DateTimeOffset? AccessTime { get; init; }
    public uint DeviceMajor { get; init; }
    public uint DeviceMinor { get; init; }
    /// <summary>Extended attributes with their raw byte values (PAX SCHILY.xattr.* and LIBARCHIVE.xattr.*).</summary>
    public IReadOnlyDictionary<string, byte[]> Xattrs { get; init; } = EmptyXattrs;
    /// <summary>Offset of the member's data from the start of the archive stream.</summary>
    public long DataOffset { get; init; }

    internal static readonly IReadOnlyDictionary<string, byte[]> EmptyXattrs = new Dictionary<string, byte[]>();
}

/// <summary>
/// A streaming tar reader (POSIX ustar, PAX and GNU long names). Written here rather than taken from
/// System.Formats.Tar because layers carry binary extended attributes (security.capability) in PAX records, and
/// System.Formats.Tar decodes every PAX value as UTF-8, which corrupts them. Reads any stream front to back with
/// constant memory; entries are never buffered.
/// </summary>
public sealed class TarReader
{
    private const int Block = 512;
    private const int MaxMetadataBytes = 1 << 20;
    private readonly Stream stream;
    private readonly byte[] header = new byte[Block];
    private long position;
    private long dataRemaining;
    private long paddingRemaining;
    private EntryDataStream? currentData;

    private readonly bool requireEndOfArchive;

    /// <param name="stream">The archive.</param>
    /// <param name="requireEndOfArchive">
    /// Fail when the archive ends without its end-of-archive (zero) blocks: cut at an entry boundary, it would
    /// otherwise read as a shorter, valid archive. Layers whose diff id is verified may omit them (umoci 0.4.7
    /// wrote such layers); anything taken on trust, a root filesystem import, must have them.
    /// </param>
    public TarReader(Stream stream, bool requireEndOfArchive = false)
    {
        this.stream = stream;
        this.requireEndOfArchive = requireEndOfArchive;
    }

    /// <summary>The data of the entry most recently returned by <see cref="Next"/>; valid until the next call.</summary>
    public Stream Data => currentData ?? throw new InvalidOperationException("no current entry");

    public TarHeader? Next()
    {
        SkipRest();
        Dictionary<string, byte[]>? pax = null;
        string? longName = null, longLink = null;
        while (true)
        {
            if (!ReadBlock(header))
                return requireEndOfArchive ? throw Truncated("the archive ends without its end-of-archive blocks") : null;
            if (IsZeroBlock(header))
            {
                // End of archive: two zero blocks, but tolerate a single one followed by EOF.
                return null;
            }
            VerifyChecksum();
            char type = (char)header[156];
            long size = ParseNumber(header.AsSpan(124, 12), "size");
            if (size < 0) throw Bad("negative size");
            switch (type)
            {
                case 'x':
                    pax ??= new Dictionary<string, byte[]>(StringComparer.Ordinal);
                    ParsePax(ReadMetadata(size), pax);
                    continue;
                case 'g':
                    // Global PAX headers hold defaults (comments, mtime) that no layer format we read depends on.
                    ReadMetadata(size);
                    continue;
                case 'L':
                    longName = CString(ReadMetadata(size));
                    continue;
                case 'K':
                    longLink = CString(ReadMetadata(size));
                    continue;
                case 'V':
                    SkipBytes(Pad(size));
                    continue;
                case 'S':
                    throw Bad("GNU sparse files are not supported in image layers");
                case 'M':
                    throw Bad("multi-volume archives are not supported");
            }
            return BuildEntry(type, size, pax, longName, longLink);
        }
    }

    private TarHeader BuildEntry(char type, long size, Dictionary<string, byte[]>? pax, string? longName, string? longLink)
    {
        bool ustar = header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        string name = CString(header.AsSpan(0, 100));
        if (ustar)
        {
            string prefix = CString(header.AsSpan(345, 155));
            if (prefix.Length > 0) name = prefix + "/" + name;
        }
        string link = CString(header.AsSpan(157, 100));
        if (longName is not null) name = longName;
        if (longLink is not null) link = longLink;

        uint mode = (uint)ParseNumber(header.AsSpan(100, 8), "mode") & 0xFFF;
        long uid = ParseNumber(header.AsSpan(108, 8), "uid");
        long gid = ParseNumber(header.AsSpan(116, 8), "gid");
        long mtime = ParseNumber(header.AsSpan(136, 12), "mtime");
        DateTimeOffset modified = DateTimeOffset.FromUnixTimeSeconds(mtime);
        DateTimeOffset? accessed = null;
        uint major = 0, minor = 0;
        if (type is '3' or '4')
        {
            major = (uint)ParseNumber(header.AsSpan(329, 8), "devmajor");
            minor = (uint)ParseNumber(header.AsSpan(337, 8), "devminor");
        }

        Dictionary<string, byte[]>? xattrs = null;
        if (pax is not null)
        {
            foreach (var (key, value) in pax)
            {
                switch (key)
                {
                    case "path": name = Encoding.UTF8.GetString(value); break;
                    case "linkpath": link = Encoding.UTF8.GetString(value); break;
                    case "size": size = ParseDecimal(value, key); break;
                    case "uid": uid = ParseDecimal(value, key); break;
                    case "gid": gid = ParseDecimal(value, key); break;
                    case "mtime": modified = ParsePaxTime(value); break;
                    case "atime": accessed = ParsePaxTime(value); break;
                    default:
                        if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                            (xattrs ??= new(StringComparer.Ordinal))[key["SCHILY.xattr.".Length..]] = value;
                        else if (key.StartsWith("LIBARCHIVE.xattr.", StringComparison.Ordinal))
                            (xattrs ??= new(StringComparer.Ordinal))[Uri.UnescapeDataString(key["LIBARCHIVE.xattr.".Length..])] =
                                Convert.FromBase64String(PadBase64(Encoding.ASCII.GetString(value)));
                        break;
                }
            }
        }
        if (uid < 0 || uid > uint.MaxValue || gid < 0 || gid > uint.MaxValue) throw Bad($"'{name}' has an out-of-range owner");

        TarEntryKind kind = type switch
        {
            '0' or '\0' or '7' => TarEntryKind.File,
            '1' => TarEntryKind.HardLink,
            '2' => TarEntryKind.Symlink,
            '3' => TarEntryKind.CharDevice,
            '4' => TarEntryKind.BlockDevice,
            '5' or 'D' => TarEntryKind.Directory,
            '6' => TarEntryKind.Fifo,
            _ => throw Bad($"'{name}' has unsupported entry type '{type}'"),
        };
        // Old (pre-POSIX) archives mark directories only by a trailing slash.
        if (kind == TarEntryKind.File && name.EndsWith('/')) kind = TarEntryKind.Directory;
        // Only regular files carry data; a size on anything else is skipped, never interpreted.
        long dataSize = size;
        dataRemaining = dataSize;
        paddingRemaining = Pad(dataSize) - dataSize;
        currentData = new EntryDataStream(this, kind == TarEntryKind.File ? dataSize : 0);
        return new TarHeader
        {
            Name = name,
            LinkName = link,
            Kind = kind,
            Mode = mode,
            Uid = (uint)uid,
            Gid = (uint)gid,
            Size = kind == TarEntryKind.File ? size : 0,
            ModificationTime = modified,
            AccessTime = accessed,
            DeviceMajor = major,
            DeviceMinor = minor,
            Xattrs = xattrs ?? TarHeader.EmptyXattrs,
            DataOffset = position,
        };
    }

    private static string PadBase64(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
    }

    private static DateTimeOffset ParsePaxTime(byte[] value)
    {
        string text = Encoding.ASCII.GetString(value);
        if (!decimal.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out decimal seconds))
            throw Bad($"bad PAX time '{text}'");
        long whole = (long)Math.Floor(seconds);
        long ticks = (long)((seconds - whole) * TimeSpan.TicksPerSecond);
        return DateTimeOffset.FromUnixTimeSeconds(whole).AddTicks(ticks);
    }

    private static long ParseDecimal(byte[] value, string key)
    {
        if (!long.TryParse(Encoding.ASCII.GetString(value), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
            throw Bad($"bad PAX {key} value");
        return n;
    }

    private static void ParsePax(byte[] data, Dictionary<string, byte[]> into)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (data[i] == 0) break;
            int space = Array.IndexOf(data, (byte)' ', i);
            if (space < 0) throw Bad("malformed PAX record");
            if (!int.TryParse(Encoding.ASCII.GetString(data, i, space - i), out int length) || length <= 0 || i + length > data.Length)
                throw Bad("malformed PAX record length");
            int end = i + length; // the record ends with '\n' at end-1
            if (data[end - 1] != (byte)'\n') throw Bad("PAX record does not end with a newline");
            int eq = Array.IndexOf(data, (byte)'=', space + 1, end - space - 1);
            if (eq < 0) throw Bad("PAX record without '='");
            string key = Encoding.UTF8.GetString(data, space + 1, eq - space - 1);
            into[key] = data.AsSpan(eq + 1, end - 1 - (eq + 1)).ToArray();
            i = end;
        }
    }

    private byte[] ReadMetadata(long size)
    {
        if (size > MaxMetadataBytes) throw Bad($"a metadata record of {size} bytes is larger than the {MaxMetadataBytes} allowed");
        var data = new byte[size];
        ReadExactly(data);
        SkipBytes(Pad(size) - size);
        return data;
    }

    private static long Pad(long size) => (size + Block - 1) / Block * Block;

    private void VerifyChecksum()
    {
        long stored = ParseNumber(header.AsSpan(148, 8), "checksum");
        long unsigned = 0, signed = 0;
        for (int i = 0; i < Block; i++)
        {
            byte b = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        if (stored != unsigned && stored != signed) throw Bad("header checksum mismatch (not a tar archive, or a corrupt one)");
    }

    /// <summary>Parses an octal field, or a GNU base-256 field (first byte has the high bit set).</summary>
    private static long ParseNumber(ReadOnlySpan<byte> field, string what)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            bool negative = (field[0] & 0x40) != 0;
            if (negative) throw Bad($"negative {what}");
            long value = field[0] & 0x3f;
            for (int i = 1; i < field.Length; i++)
            {
                if (value > (long.MaxValue >> 8)) throw Bad($"{what} overflows");
                value = (value << 8) | field[i];
            }
            return value;
        }
        long n = 0;
        int k = 0;
        while (k < field.Length && (field[k] == ' ' || field[k] == 0)) k++;
        for (; k < field.Length; k++)
        {
            byte c = field[k];
            if (c == 0 || c == ' ') break;
            if (c < '0' || c > '7') throw Bad($"bad octal digit in {what}");
            if (n > (long.MaxValue >> 3)) throw Bad($"{what} overflows");
            n = n * 8 + (c - '0');
        }
        return n;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        int nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? field[..nul] : field);
    }

    private static bool IsZeroBlock(byte[] block)
    {
        foreach (byte b in block) if (b != 0) return false;
        return true;
    }

    private bool ReadBlock(byte[] block)
    {
        int read = 0;
        while (read < Block)
        {
            int n = stream.Read(block, read, Block - read);
            if (n == 0)
            {
                if (read == 0) return false;
                throw Truncated("the archive ends in the middle of a header");
            }
            read += n;
        }
        position += Block;
        return true;
    }

    private void ReadExactly(Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer[read..]);
            if (n == 0) throw Truncated("the archive is truncated");
            read += n;
        }
        position += buffer.Length;
    }

    private void SkipBytes(long count)
    {
        if (count <= 0) return;
        if (stream.CanSeek)
        {
            // Seeking past the end succeeds silently; a member cut off there is a truncated archive.
            if (stream.Position + count > stream.Length) throw Truncated("the archive is truncated");
            stream.Seek(count, SeekOrigin.Current);
            position += count;
            return;
        }
        var buffer = new byte[Math.Min(count, 65536)];
        while (count > 0)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(count, buffer.Length));
            if (n == 0) throw Truncated("the archive is truncated");
            count -= n;
            position += n;
        }
    }

    private void SkipRest()
    {
        if (currentData is not null)
        {
            currentData.Detach();
            currentData = null;
        }
        SkipBytes(dataRemaining + paddingRemaining);
        dataRemaining = paddingRemaining = 0;
    }

    private int ReadData(Span<byte> buffer)
    {
        if (dataRemaining <= 0) return 0;
        if (buffer.Length > dataRemaining) buffer = buffer[..(int)dataRemaining];
        int n = stream.Read(buffer);
        if (n == 0) throw Truncated("the archive is truncated inside a file");
        dataRemaining -= n;
        position += n;
        return n;
    }

    private static InvalidDataException Bad(string message) => new("Invalid tar archive: " + message);

    private static DataIntegrityException Truncated(string message) => new(DataProblem.Truncated, "tar: " + message);

    private sealed class EntryDataStream : ReadOnlyStream
    {
        private TarReader? owner;
        private readonly long length;

        public EntryDataStream(TarReader owner, long length)
        {
            this.owner = owner;
            this.length = length;
        }

        public void Detach() => owner = null;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) =>
            length == 0 ? 0 : (owner ?? throw new InvalidOperationException("the tar reader has moved past this entry")).ReadData(buffer);

        public override long Length => length;
    }
}
