using System.Formats.Tar;
using System.Text;
using PSContainer.Engine.Archives;
using PSContainer.Native;
using Xunit;
using PscTarReader = PSContainer.Engine.Archives.TarReader;

namespace PSContainer.Tests;

public class TarReaderTests
{
    internal static readonly DateTimeOffset Mtime = DateTimeOffset.FromUnixTimeSeconds(1_650_000_123);
    internal static readonly string LongName = "deep/" + string.Join('/', Enumerable.Repeat("component-of-a-long-path", 6)) + "/file.txt";
    internal static readonly string LongLink = "/target/" + string.Join('/', Enumerable.Repeat("link-target-component", 6));

    /// <summary>security.capability as setcap writes it (VFS_CAP_REVISION_2, cap_net_raw+ep): binary, with NULs.</summary>
    internal static readonly byte[] CapabilityValue = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Not UTF-8, with NUL, newline, '=' and space: any text decoding would corrupt it.</summary>
    internal static readonly byte[] BinaryValue = [0x00, 0xff, 0xfe, 0x80, (byte)'\n', (byte)'=', (byte)' ', 0xc3, 0x28, 0x00];

    internal static List<(TarHeader Header, byte[] Data)> ReadAll(Stream stream)
    {
        var reader = new PscTarReader(stream);
        var list = new List<(TarHeader, byte[])>();
        TarHeader? h;
        while ((h = reader.Next()) is not null)
        {
            var ms = new MemoryStream();
            reader.Data.CopyTo(ms);
            list.Add((h, ms.ToArray()));
        }
        return list;
    }

    private static byte[] WriteWith(TarEntryFormat format, Action<TarWriter> write)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, format, leaveOpen: true)) write(w);
        return ms.ToArray();
    }

    private static TarEntry Entry(TarEntryFormat format, TarEntryType type, string name) => format switch
    {
        TarEntryFormat.Pax => new PaxTarEntry(type, name),
        TarEntryFormat.Gnu => new GnuTarEntry(type, name),
        _ => new UstarTarEntry(type, name),
    };

    private static byte[] AllKinds(TarEntryFormat format) => WriteWith(format, w =>
    {
        var dir = Entry(format, TarEntryType.Directory, "deep/");
        dir.Mode = (UnixFileMode)0x1ED;
        dir.ModificationTime = Mtime;
        w.WriteEntry(dir);

        var file = Entry(format, TarEntryType.RegularFile, LongName);
        file.Mode = (UnixFileMode)0x9ED; // 04755
        file.Uid = 1000;
        file.Gid = 2000;
        file.ModificationTime = Mtime;
        file.DataStream = new MemoryStream(Encoding.UTF8.GetBytes("long file content"));
        w.WriteEntry(file);

        var link = Entry(format, TarEntryType.SymbolicLink, "sym");
        link.LinkName = LongLink;
        link.ModificationTime = Mtime;
        w.WriteEntry(link);

        var hard = Entry(format, TarEntryType.HardLink, "hard");
        hard.LinkName = LongName;
        w.WriteEntry(hard);

        var chr = (PosixTarEntry)Entry(format, TarEntryType.CharacterDevice, "dev/null");
        chr.DeviceMajor = 1;
        chr.DeviceMinor = 3;
        chr.Mode = (UnixFileMode)0x1B6;
        w.WriteEntry(chr);

        var blk = (PosixTarEntry)Entry(format, TarEntryType.BlockDevice, "dev/sda1");
        blk.DeviceMajor = 8;
        blk.DeviceMinor = 1;
        w.WriteEntry(blk);

        w.WriteEntry(Entry(format, TarEntryType.Fifo, "pipe"));

        var small = Entry(format, TarEntryType.RegularFile, "small");
        small.DataStream = new MemoryStream("x"u8.ToArray());
        w.WriteEntry(small);
    });

    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public void ReadsEveryKindAndAttributeFromSystemFormatsTar(TarEntryFormat format)
    {
        var entries = ReadAll(new MemoryStream(AllKinds(format)));
        Assert.Equal(new[] { "deep/", LongName, "sym", "hard", "dev/null", "dev/sda1", "pipe", "small" }, entries.Select(e => e.Header.Name));

        var dir = entries[0].Header;
        Assert.Equal(TarEntryKind.Directory, dir.Kind);
        Assert.Equal(0x1EDu, dir.Mode);
        Assert.Equal(Mtime, dir.ModificationTime);

        var (file, data) = entries[1];
        Assert.Equal(TarEntryKind.File, file.Kind);
        Assert.Equal(0x9EDu, file.Mode); // setuid survives
        Assert.Equal(1000u, file.Uid);
        Assert.Equal(2000u, file.Gid);
        Assert.Equal(Mtime, file.ModificationTime);
        Assert.Equal("long file content", Encoding.UTF8.GetString(data));
        Assert.Equal(data.Length, file.Size);

        Assert.Equal(TarEntryKind.Symlink, entries[2].Header.Kind);
        Assert.Equal(LongLink, entries[2].Header.LinkName);
        Assert.Equal(TarEntryKind.HardLink, entries[3].Header.Kind);
        Assert.Equal(LongName, entries[3].Header.LinkName);
        Assert.Equal(0, entries[3].Header.Size);

        Assert.Equal(TarEntryKind.CharDevice, entries[4].Header.Kind);
        Assert.Equal((1u, 3u), (entries[4].Header.DeviceMajor, entries[4].Header.DeviceMinor));
        Assert.Equal(0x1B6u, entries[4].Header.Mode);
        Assert.Equal(TarEntryKind.BlockDevice, entries[5].Header.Kind);
        Assert.Equal((8u, 1u), (entries[5].Header.DeviceMajor, entries[5].Header.DeviceMinor));
        Assert.Equal(TarEntryKind.Fifo, entries[6].Header.Kind);
        Assert.Equal("x", Encoding.UTF8.GetString(entries[7].Data));
    }

    [Fact]
    public void UstarPrefixFieldIsJoinedToTheName()
    {
        string name = string.Join('/', Enumerable.Repeat("abcdefghij", 13)) + "/f"; // 145 chars: needs the prefix field
        var bytes = WriteWith(TarEntryFormat.Ustar, w =>
        {
            var e = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("p"u8.ToArray()) };
            w.WriteEntry(e);
        });
        Assert.NotEqual(0, bytes[345]); // really in the prefix field
        var entries = ReadAll(new MemoryStream(bytes));
        Assert.Equal(name, Assert.Single(entries).Header.Name);
    }

    [Fact]
    public void GnuBase256NumbersAreRead()
    {
        var bytes = WriteWith(TarEntryFormat.Gnu, w =>
        {
            var e = new GnuTarEntry(TarEntryType.RegularFile, "big-owner") { Uid = 3_000_000, Gid = 4_000_000, DataStream = new MemoryStream([1]) };
            w.WriteEntry(e);
        });
        var h = Assert.Single(ReadAll(new MemoryStream(bytes))).Header;
        Assert.Equal(3_000_000u, h.Uid);
        Assert.Equal(4_000_000u, h.Gid);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DataOffsetPointsAtTheContent(bool seekable)
    {
        var bytes = WriteWith(TarEntryFormat.Pax, w =>
        {
            for (int i = 0; i < 5; i++)
            {
                var e = new PaxTarEntry(TarEntryType.RegularFile, i == 2 ? LongName : $"f{i}",
                    new Dictionary<string, string> { ["SCHILY.xattr.user.n"] = new string('v', i * 300) })
                { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(new string((char)('a' + i), 700 * i + 1))) };
                w.WriteEntry(e);
            }
        });
        using var dir = new TempDir();
        string path = dir.Combine("a.tar");
        File.WriteAllBytes(path, bytes);
        using Stream input = seekable ? File.OpenRead(path) : new NonSeekableStream(File.OpenRead(path));
        var reader = new PscTarReader(input);
        int count = 0;
        TarHeader? h;
        while ((h = reader.Next()) is not null)
        {
            // Read only some entries' data, so both the skipping and the reading paths keep the offset right.
            if (count % 2 == 0) reader.Data.CopyTo(Stream.Null);
            var expected = new byte[h.Size];
            Array.Copy(bytes, h.DataOffset, expected, 0, h.Size);
            Assert.Equal(new string((char)('a' + count), 700 * count + 1), Encoding.UTF8.GetString(expected));
            count++;
        }
        Assert.Equal(5, count);
    }

    [Fact]
    public void BinaryPaxXattrValuesArePreservedByteForByte()
    {
        var tar = new RawTar().Add("f", data: "x"u8.ToArray(), pax:
        [
            ("SCHILY.xattr.user.bin", BinaryValue),
            ("SCHILY.xattr.security.capability", CapabilityValue),
            ("SCHILY.xattr.user.empty", []),
        ]).ToArray();
        var h = Assert.Single(ReadAll(new MemoryStream(tar))).Header;
        Assert.Equal(BinaryValue, h.Xattrs["user.bin"]);
        Assert.Equal(CapabilityValue, h.Xattrs["security.capability"]);
        Assert.Empty(h.Xattrs["user.empty"]);
        Assert.Equal(3, h.Xattrs.Count);
    }

    [Fact]
    public void LibarchiveXattrsAreBase64AndUrlEncoded()
    {
        string b64 = Convert.ToBase64String(BinaryValue).TrimEnd('=');
        var tar = new RawTar().Add("f", pax: [("LIBARCHIVE.xattr.user.with%20space", Encoding.ASCII.GetBytes(b64))]).ToArray();
        var h = Assert.Single(ReadAll(new MemoryStream(tar))).Header;
        Assert.Equal(BinaryValue, h.Xattrs["user.with space"]);
    }

    [Fact]
    public void PaxOverridesHeaderFields()
    {
        var tar = new RawTar().Add("short", data: "abc"u8.ToArray(), uid: 1, gid: 2, pax:
        [
            ("path", "from/pax/name"u8.ToArray()),
            ("uid", "70000"u8.ToArray()),
            ("gid", "80000"u8.ToArray()),
            ("mtime", "1650000123.25"u8.ToArray()),
            ("atime", "1650000000"u8.ToArray()),
        ]).ToArray();
        var (h, data) = Assert.Single(ReadAll(new MemoryStream(tar)));
        Assert.Equal("from/pax/name", h.Name);
        Assert.Equal(70000u, h.Uid);
        Assert.Equal(80000u, h.Gid);
        Assert.Equal(Mtime.AddMilliseconds(250), h.ModificationTime);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_650_000_000), h.AccessTime);
        Assert.Equal("abc", Encoding.ASCII.GetString(data));
    }

    [Fact]
    public void PaxHeadersApplyToOneEntryOnly()
    {
        var tar = new RawTar()
            .Add("a", pax: [("SCHILY.xattr.user.a", "1"u8.ToArray()), ("uid", "5"u8.ToArray())])
            .Add("b", uid: 7)
            .ToArray();
        var entries = ReadAll(new MemoryStream(tar));
        Assert.Equal(5u, entries[0].Header.Uid);
        Assert.Single(entries[0].Header.Xattrs);
        Assert.Equal(7u, entries[1].Header.Uid);
        Assert.Empty(entries[1].Header.Xattrs);
    }

    [Fact]
    public void OldStyleDirectoryByTrailingSlash()
    {
        var tar = new RawTar().Add("olddir/", type: '\0').ToArray();
        Assert.Equal(TarEntryKind.Directory, Assert.Single(ReadAll(new MemoryStream(tar))).Header.Kind);
    }

    [Fact]
    public void DataOfAPreviousEntryCannotBeReadAfterNext()
    {
        var tar = new RawTar().File1("a", "aaaa").File1("b", "bbbb").ToArray();
        var reader = new PscTarReader(new MemoryStream(tar));
        Assert.NotNull(reader.Next());
        var first = reader.Data;
        Assert.NotNull(reader.Next());
        Assert.Throws<InvalidOperationException>(() => first.ReadByte());
        Assert.Equal((int)'b', reader.Data.ReadByte());
    }

    [Fact]
    public void EmptyStreamAndEndMarkerMeanNoEntries()
    {
        Assert.Null(new PscTarReader(new MemoryStream()).Next());
        Assert.Null(new PscTarReader(new MemoryStream(new byte[1024])).Next());
    }

    [Fact]
    public void BadHeaderChecksumThrowsInvalidData()
    {
        var tar = new RawTar().File1("a", "content").ToArray();
        tar[0] = (byte)'b'; // name changes, checksum does not
        var e = Assert.Throws<InvalidDataException>(() => ReadAll(new MemoryStream(tar)));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void GarbageIsNotATar()
    {
        var junk = Encoding.ASCII.GetBytes(new string('z', 2048));
        Assert.Throws<InvalidDataException>(() => ReadAll(new MemoryStream(junk)));
    }

    [Fact]
    public void ArchiveEndingInsideAHeaderThrowsInvalidData()
    {
        var tar = new RawTar().File1("a", "content").File1("b", "more").ToArray();
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => ReadAll(new MemoryStream(tar[..(1024 + 100)]))).Problem);
    }

    [Fact]
    public void ArchiveEndingInsideFileDataThrowsWhenTheDataIsRead()
    {
        var tar = new RawTar().Add("a", data: new byte[5000]).ToArray();
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => ReadAll(new NonSeekableStream(new MemoryStream(tar[..3000])))).Problem);
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => ReadAll(new MemoryStream(tar[..3000]))).Problem);
    }

    [Fact]
    public void ArchiveEndingInsideSkippedDataThrowsOnANonSeekableStream()
    {
        var tar = new RawTar().Add("a", data: new byte[5000]).File1("b", "b").ToArray();
        var reader = new PscTarReader(new NonSeekableStream(new MemoryStream(tar[..3000])));
        Assert.NotNull(reader.Next());
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => reader.Next()).Problem);
    }

    [Fact]
    public void ArchiveEndingInsideSkippedDataThrowsOnASeekableStream()
    {
        // A tar file (seekable) cut in the middle of a member whose data the caller skips: the reader must notice
        // it is truncated rather than seek past the end and report a clean end of archive.
        var tar = new RawTar().Add("a", data: new byte[5000]).File1("b", "b").ToArray();
        var reader = new PscTarReader(new MemoryStream(tar[..3000]));
        Assert.NotNull(reader.Next());
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => reader.Next()).Problem);
    }

    [Fact]
    public void SparseAndUnknownTypesAreRefused()
    {
        Assert.Throws<InvalidDataException>(() => ReadAll(new MemoryStream(new RawTar().Add("s", type: 'S').ToArray())));
        Assert.Throws<InvalidDataException>(() => ReadAll(new MemoryStream(new RawTar().Add("q", type: 'Q').ToArray())));
    }

    [Fact]
    public void MalformedPaxRecordThrowsInvalidData()
    {
        var h = RawTar.Header("PaxHeaders/x", 'x', 12, "", 0x1A4, 0, 0, 0, 0, 0);
        var bad = new MemoryStream();
        bad.Write(h);
        var data = new byte[512];
        Encoding.ASCII.GetBytes("99 path=abc\n").CopyTo(data, 0); // length 99 runs past the record
        bad.Write(data);
        bad.Write(RawTar.Header("f", '0', 0, "", 0x1A4, 0, 0, 0, 0, 0));
        bad.Write(new byte[1024]);
        Assert.Throws<InvalidDataException>(() => ReadAll(new MemoryStream(bad.ToArray())));
    }

    // ---- archives made by GNU tar -------------------------------------------------------------------------

    /// <summary>A source tree with every kind of member, owners, setuid, long names and binary xattrs.</summary>
    internal static string MakeSourceTree(TempDir dir)
    {
        string src = dir.CreateDirectory("src");
        string longPath = Path.Combine(src, LongName);
        Directory.CreateDirectory(Path.GetDirectoryName(longPath)!);
        File.WriteAllText(longPath, "long file content");
        Posix.Chown(longPath, 1000, 2000);
        Posix.Chmod(longPath, 0x9ED); // 04755 after the chown, which would clear it
        File.SetLastWriteTimeUtc(longPath, Mtime.UtcDateTime);

        string capFile = Path.Combine(src, "ping");
        File.WriteAllText(capFile, "#!/bin/true\n");
        Posix.Chmod(capFile, 0x1ED);
        Posix.SetXattr(capFile, "security.capability", CapabilityValue);
        Posix.SetXattr(capFile, "user.bin", BinaryValue);

        File.CreateSymbolicLink(Path.Combine(src, "sym"), LongLink);
        Posix.Link(longPath, Path.Combine(src, "hard"));
        Directory.CreateDirectory(Path.Combine(src, "dev"));
        Posix.MakeNode(Path.Combine(src, "dev", "null"), Sys.S_IFCHR | 0x1B6, 1, 3);
        Posix.MakeNode(Path.Combine(src, "dev", "sda1"), Sys.S_IFBLK | 0x1A0, 8, 1);
        Posix.MakeNode(Path.Combine(src, "pipe"), Sys.S_IFIFO | 0x1A4, 0, 0);
        return src;
    }

    [Theory]
    [InlineData("posix")]
    [InlineData("gnu")]
    public void ReadsArchivesMadeByGnuTar(string format)
    {
        using var dir = new TempDir();
        string src = MakeSourceTree(dir);
        string tar = dir.Combine("out.tar");
        var args = new List<string> { "--format=" + format, "-cf", tar, "-C", src };
        if (format == "posix") args.InsertRange(0, ["--xattrs", "--xattrs-include=*"]);
        args.Add(".");
        Posix.Run("tar", [.. args]);

        using var stream = File.OpenRead(tar);
        var entries = ReadAll(stream).ToDictionary(e => e.Header.Name.TrimStart('.', '/').TrimEnd('/'), e => e);
        byte[] raw = File.ReadAllBytes(tar);

        // Which of the two names tar stores as the file and which as the link depends on its traversal order.
        bool longIsFile = entries[LongName].Header.Kind == TarEntryKind.File;
        var (longHeader, longData) = longIsFile ? entries[LongName] : entries["hard"];
        var hardHeader = longIsFile ? entries["hard"].Header : entries[LongName].Header;
        Assert.Equal(TarEntryKind.File, longHeader.Kind);
        Assert.Equal(TarEntryKind.HardLink, hardHeader.Kind);
        Assert.Equal("long file content", Encoding.UTF8.GetString(longData));
        Assert.Equal(0x9EDu, longHeader.Mode);
        Assert.Equal((1000u, 2000u), (longHeader.Uid, longHeader.Gid));
        Assert.Equal(Mtime, longHeader.ModificationTime);
        Assert.Equal("long file content", Encoding.UTF8.GetString(raw, (int)longHeader.DataOffset, (int)longHeader.Size));

        Assert.Equal(TarEntryKind.Symlink, entries["sym"].Header.Kind);
        Assert.Equal(LongLink, entries["sym"].Header.LinkName);
        Assert.Equal(TarEntryKind.CharDevice, entries["dev/null"].Header.Kind);
        Assert.Equal((1u, 3u), (entries["dev/null"].Header.DeviceMajor, entries["dev/null"].Header.DeviceMinor));
        Assert.Equal(TarEntryKind.BlockDevice, entries["dev/sda1"].Header.Kind);
        Assert.Equal((8u, 1u), (entries["dev/sda1"].Header.DeviceMajor, entries["dev/sda1"].Header.DeviceMinor));
        Assert.Equal(TarEntryKind.Fifo, entries["pipe"].Header.Kind);
        Assert.Equal(TarEntryKind.Directory, entries["dev"].Header.Kind);

        var ping = entries["ping"].Header;
        Assert.Equal("#!/bin/true\n", Encoding.UTF8.GetString(raw, (int)ping.DataOffset, (int)ping.Size));
        if (format == "posix")
        {
            Assert.Equal(CapabilityValue, ping.Xattrs["security.capability"]);
            Assert.Equal(BinaryValue, ping.Xattrs["user.bin"]);
        }
    }
}
