using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Storage;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

public class LayerApplierTests : IDisposable
{
    private static readonly long T1 = 1_500_000_000, T2 = 1_600_000_000, T3 = 1_700_000_000;
    private readonly TempDir dir = new();
    private readonly string layer;

    public LayerApplierTests() => layer = dir.CreateDirectory("layer");

    public void Dispose() => dir.Dispose();

    private LayerApplyResult Apply(RawTar tar) => LayerApplier.Apply(new NonSeekableStream(new MemoryStream(tar.ToArray())), layer);

    private string L(string relative) => Path.Combine(layer, relative);

    [Fact]
    public void RegularFileGetsContentModeOwnerAndTime()
    {
        var result = Apply(new RawTar().Add("etc/shadow", data: "secret\n"u8.ToArray(), mode: 0x1A0, uid: 1000, gid: 42, mtime: T1));
        var st = Posix.Stat(L("etc/shadow"));
        Assert.True(st.IsRegular);
        Assert.Equal("secret\n", File.ReadAllText(L("etc/shadow")));
        Assert.Equal(0x1A0u, st.Mode);
        Assert.Equal((1000u, 42u), (st.Uid, st.Gid));
        Assert.Equal(T1, st.MtimeSeconds);
        Assert.Equal(1, result.Entries);
        Assert.Equal(7, result.Bytes);
        Assert.True(Posix.Stat(L("etc")).IsDirectory); // parents are made as needed
    }

    [Fact]
    public void NamesAreCleanedOfDotAndSlashPrefixes()
    {
        Apply(new RawTar().File1("./a/./b", "1").File1("/abs/c", "2").File1("x/../y", "3"));
        Assert.Equal("1", File.ReadAllText(L("a/b")));
        Assert.Equal("2", File.ReadAllText(L("abs/c")));
        Assert.Equal("3", File.ReadAllText(L("y")));
        Assert.False(Posix.Exists(L("x/y")));
    }

    [Fact]
    public void DirectoryModeAndTimeSurviveChildrenAddedLater()
    {
        Apply(new RawTar()
            .Add("d/", RawTar.Directory, mode: 0x1E8 /*0750*/, uid: 5, gid: 6, mtime: T1)
            .Add("d/sub/", RawTar.Directory, mode: 0x16D /*0555*/, mtime: T2)
            .Add("d/sub/f", data: "f"u8.ToArray(), mtime: T3)
            .Add("d/g", data: "g"u8.ToArray(), mtime: T3));
        var d = Posix.Stat(L("d"));
        Assert.Equal(0x1E8u, d.Mode);
        Assert.Equal((5u, 6u), (d.Uid, d.Gid));
        Assert.Equal(T1, d.MtimeSeconds);
        var sub = Posix.Stat(L("d/sub"));
        Assert.Equal(0x16Du, sub.Mode); // read-only directory still got its child, and kept its mode
        Assert.Equal(T2, sub.MtimeSeconds);
        Assert.Equal("f", File.ReadAllText(L("d/sub/f")));
    }

    [Fact]
    public void LayerRootEntrySetsTheRootsAttributes()
    {
        Apply(new RawTar().Add("./", RawTar.Directory, mode: 0x1C0, mtime: T1).File1("a", "a"));
        var st = Posix.Stat(layer);
        Assert.Equal(0x1C0u, st.Mode);
        Assert.Equal(T1, st.MtimeSeconds);
    }

    [Fact]
    public void RepeatedDirectoryEntryTakesTheLastEntrysTime()
    {
        // Tar semantics: a later member wins, for a directory's attributes too (docker and GNU tar agree).
        Apply(new RawTar()
            .Add("d/", RawTar.Directory, mode: 0x1ED, mtime: T1)
            .File1("d/f", "f")
            .Add("d/", RawTar.Directory, mode: 0x1C0, mtime: T2));
        var st = Posix.Stat(L("d"));
        Assert.Equal(0x1C0u, st.Mode);
        Assert.Equal(T2, st.MtimeSeconds);
    }

    [Fact]
    public void SymlinkKeepsTargetOwnerAndTime()
    {
        Apply(new RawTar().Add("bin/sh", RawTar.Symlink, link: "/bin/busybox", uid: 7, gid: 8, mtime: T1));
        var st = Posix.Stat(L("bin/sh"));
        Assert.True(st.IsSymlink);
        Assert.Equal("/bin/busybox", new FileInfo(L("bin/sh")).LinkTarget);
        Assert.Equal((7u, 8u), (st.Uid, st.Gid));
        Assert.Equal(T1, st.MtimeSeconds);
    }

    [Fact]
    public void HardLinkSharesTheInode()
    {
        Apply(new RawTar().Add("bin/busybox", data: "BB"u8.ToArray(), mode: 0x1ED).Add("bin/ls", RawTar.HardLink, link: "bin/busybox")
            .Add("usr/bin/env", RawTar.HardLink, link: "/bin/busybox"));
        var a = Posix.Stat(L("bin/busybox"));
        var b = Posix.Stat(L("bin/ls"));
        var c = Posix.Stat(L("usr/bin/env"));
        Assert.Equal(a.Inode, b.Inode);
        Assert.Equal(a.Inode, c.Inode);
        Assert.Equal(3u, a.Links);
    }

    [Fact]
    public void HardLinkToMissingTargetIsRefused()
    {
        var e = Assert.Throws<EngineException>(() => Apply(new RawTar().Add("a", RawTar.HardLink, link: "nothere")));
        Assert.Equal("LayerEntryRefused", e.ErrorId);
        e = Assert.Throws<EngineException>(() => Apply(new RawTar().Add("dd/", RawTar.Directory).Add("b", RawTar.HardLink, link: "dd")));
        Assert.Equal("LayerEntryRefused", e.ErrorId);
    }

    [Fact]
    public void DevicesAndFifos()
    {
        Apply(new RawTar()
            .Add("dev/null", RawTar.CharDevice, mode: 0x1B6, major: 1, minor: 3)
            .Add("dev/sda1", RawTar.BlockDevice, mode: 0x1B0, major: 8, minor: 1, uid: 0, gid: 6)
            .Add("dev/big", RawTar.CharDevice, major: 300, minor: 70000)
            .Add("run/fifo", RawTar.Fifo, mode: 0x180));
        var n = Posix.Stat(L("dev/null"));
        Assert.True(n.IsCharDevice);
        Assert.Equal((1u, 3u), (n.RdevMajor, n.RdevMinor));
        Assert.Equal(0x1B6u, n.Mode);
        var s = Posix.Stat(L("dev/sda1"));
        Assert.True(s.IsBlockDevice);
        Assert.Equal((8u, 1u), (s.RdevMajor, s.RdevMinor));
        Assert.Equal(6u, s.Gid);
        var big = Posix.Stat(L("dev/big"));
        Assert.Equal((300u, 70000u), (big.RdevMajor, big.RdevMinor));
        var f = Posix.Stat(L("run/fifo"));
        Assert.True(f.IsFifo);
        Assert.Equal(0x180u, f.Mode);
    }

    [Fact]
    public void SetuidAndSetgidSurviveTheChown()
    {
        Apply(new RawTar()
            .Add("usr/bin/passwd", data: "x"u8.ToArray(), mode: 0x9ED /*04755*/, uid: 1000, gid: 1000)
            .Add("usr/bin/wall", data: "x"u8.ToArray(), mode: 0x5ED /*02755*/, uid: 0, gid: 5)
            .Add("tmp/", RawTar.Directory, mode: 0x3FF /*01777*/, uid: 3));
        Assert.Equal(0x9EDu, Posix.Stat(L("usr/bin/passwd")).Mode);
        Assert.Equal(0x5EDu, Posix.Stat(L("usr/bin/wall")).Mode);
        Assert.Equal(0x3FFu, Posix.Stat(L("tmp")).Mode);
    }

    [Fact]
    public void XattrsAreAppliedByteForByteAndCapabilitySurvivesOwnerChange()
    {
        Apply(new RawTar().Add("bin/ping", data: "p"u8.ToArray(), mode: 0x1ED, uid: 1000, gid: 1000, pax:
        [
            ("SCHILY.xattr.security.capability", TarReaderTests.CapabilityValue),
            ("SCHILY.xattr.user.bin", TarReaderTests.BinaryValue),
        ]).Add("d/", RawTar.Directory, pax: [("SCHILY.xattr.user.dir", "yes"u8.ToArray())]));
        Assert.Equal(TarReaderTests.CapabilityValue, Posix.GetXattr(L("bin/ping"), "security.capability"));
        Assert.Equal(TarReaderTests.BinaryValue, Posix.GetXattr(L("bin/ping"), "user.bin"));
        Assert.Equal("yes"u8.ToArray(), Posix.GetXattr(L("d"), "user.dir"));
    }

    [Fact]
    public void OverlayXattrsFromTheTarAreNotApplied()
    {
        Apply(new RawTar()
            .Add("d/", RawTar.Directory, pax: [("SCHILY.xattr.trusted.overlay.opaque", "y"u8.ToArray()), ("SCHILY.xattr.trusted.psc", "ok"u8.ToArray())])
            .Add("f", pax: [("SCHILY.xattr.trusted.overlay.redirect", "/etc"u8.ToArray()), ("SCHILY.xattr.trusted.overlay.metacopy", []),
                ("LIBARCHIVE.xattr.trusted.overlay.origin", "AAAA"u8.ToArray())]));
        Assert.Null(Posix.GetXattr(L("d"), "trusted.overlay.opaque"));
        Assert.Equal("ok"u8.ToArray(), Posix.GetXattr(L("d"), "trusted.psc")); // other trusted.* are applied: the filter is not vacuous
        Assert.Null(Posix.GetXattr(L("f"), "trusted.overlay.redirect"));
        Assert.Null(Posix.GetXattr(L("f"), "trusted.overlay.metacopy"));
        Assert.Null(Posix.GetXattr(L("f"), "trusted.overlay.origin"));
    }

    [Fact]
    public void WhiteoutBecomesA00CharDevice()
    {
        Apply(new RawTar().Add("etc/.wh.motd").Add(".wh.toplevel"));
        var st = Posix.Stat(L("etc/motd"));
        Assert.True(st.IsCharDevice);
        Assert.Equal((0u, 0u), (st.RdevMajor, st.RdevMinor));
        Assert.True(Posix.Stat(L("toplevel")).IsCharDevice);
        Assert.False(Posix.Exists(L("etc/.wh.motd")));
        Assert.False(Posix.Exists(L(".wh.toplevel")));
    }

    [Fact]
    public void WhiteoutDoesNotHideContentOfTheSameLayer()
    {
        Apply(new RawTar().File1("a/f", "keep").Add("a/.wh.f"));
        Assert.True(Posix.Stat(L("a/f")).IsRegular);
        Assert.Equal("keep", File.ReadAllText(L("a/f")));
    }

    [Fact]
    public void LaterEntryReplacesAWhiteout()
    {
        Apply(new RawTar().Add(".wh.f").File1("f", "back"));
        Assert.True(Posix.Stat(L("f")).IsRegular);
    }

    [Fact]
    public void InvalidWhiteoutNamesAreRefused()
    {
        var e = Assert.Throws<EngineException>(() => Apply(new RawTar().Add("a/.wh.")));
        Assert.Equal("LayerEntryRefused", e.ErrorId);
        e = Assert.Throws<EngineException>(() => Apply(new RawTar().Add("a/.wh..")));
        Assert.Equal("LayerEntryRefused", e.ErrorId);
    }

    [Fact]
    public void OpaqueMarkerBeforeTheDirectorysFiles()
    {
        Apply(new RawTar().Add("d/.wh..wh..opq").Add("d/", RawTar.Directory, mode: 0x1ED).File1("d/f", "f"));
        Assert.Equal("y"u8.ToArray(), Posix.GetXattr(L("d"), "trusted.overlay.opaque"));
        Assert.False(Posix.Exists(L("d/.wh..wh..opq")));
        Assert.True(Posix.Exists(L("d/f")));
    }

    [Fact]
    public void OpaqueMarkerAfterTheDirectorysFiles()
    {
        Apply(new RawTar().Add("d/", RawTar.Directory).File1("d/f", "f").Add("d/sub/", RawTar.Directory).Add("d/.wh..wh..opq"));
        Assert.Equal("y"u8.ToArray(), Posix.GetXattr(L("d"), "trusted.overlay.opaque"));
        Assert.Null(Posix.GetXattr(L("d/sub"), "trusted.overlay.opaque"));
        Assert.Equal(new string?[] { "f", "sub" }, Directory.EnumerateFileSystemEntries(L("d")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FileReplacesDirectoryWithChildren()
    {
        Apply(new RawTar().Add("x/", RawTar.Directory).File1("x/child", "c").Add("x/sub/", RawTar.Directory).File1("x", "now a file"));
        Assert.True(Posix.Stat(L("x")).IsRegular);
        Assert.Equal("now a file", File.ReadAllText(L("x")));
    }

    [Fact]
    public void DirectoryReplacesFile()
    {
        Apply(new RawTar().File1("x", "file").Add("x/", RawTar.Directory, mode: 0x1C0).File1("x/y", "y"));
        Assert.True(Posix.Stat(L("x")).IsDirectory);
        Assert.Equal(0x1C0u, Posix.Stat(L("x")).Mode);
        Assert.Equal("y", File.ReadAllText(L("x/y")));
    }

    [Fact]
    public void SymlinkReplacesFileAndFileReplacesSymlink()
    {
        Apply(new RawTar().File1("a", "file").Add("a", RawTar.Symlink, link: "target").File1("b-target", "t")
            .Add("b", RawTar.Symlink, link: "b-target").File1("b", "replaced"));
        Assert.True(Posix.Stat(L("a")).IsSymlink);
        Assert.Equal("target", new FileInfo(L("a")).LinkTarget);
        Assert.True(Posix.Stat(L("b")).IsRegular);
        Assert.Equal("replaced", File.ReadAllText(L("b")));
        Assert.Equal("t", File.ReadAllText(L("b-target"))); // not written through the old symlink
    }

    [Fact]
    public void FileReplacingAHardLinkDoesNotChangeTheOtherName()
    {
        Apply(new RawTar().File1("orig", "original").Add("alias", RawTar.HardLink, link: "orig").File1("alias", "new"));
        Assert.Equal("original", File.ReadAllText(L("orig")));
        Assert.Equal("new", File.ReadAllText(L("alias")));
        Assert.Equal(1u, Posix.Stat(L("orig")).Links);
    }

    [Fact]
    public void AppliesAnArchiveMadeByGnuTarFaithfully()
    {
        string src = TarReaderTests.MakeSourceTree(dir);
        string tar = dir.Combine("layer.tar");
        Posix.Run("tar", "--xattrs", "--xattrs-include=*", "--format=posix", "-cf", tar, "-C", src, ".");
        using (var s = File.OpenRead(tar)) LayerApplier.Apply(s, layer);

        string longPath = L(TarReaderTests.LongName);
        var st = Posix.Stat(longPath);
        Assert.Equal("long file content", File.ReadAllText(longPath));
        Assert.Equal(0x9EDu, st.Mode);
        Assert.Equal((1000u, 2000u), (st.Uid, st.Gid));
        Assert.Equal(TarReaderTests.Mtime.ToUnixTimeSeconds(), st.MtimeSeconds);
        Assert.Equal(st.Inode, Posix.Stat(L("hard")).Inode);
        Assert.Equal(TarReaderTests.LongLink, new FileInfo(L("sym")).LinkTarget);
        Assert.Equal((1u, 3u), (Posix.Stat(L("dev/null")).RdevMajor, Posix.Stat(L("dev/null")).RdevMinor));
        Assert.True(Posix.Stat(L("dev/sda1")).IsBlockDevice);
        Assert.Equal(0x1A0u, Posix.Stat(L("dev/sda1")).Mode);
        Assert.True(Posix.Stat(L("pipe")).IsFifo);
        Assert.Equal(TarReaderTests.CapabilityValue, Posix.GetXattr(L("ping"), "security.capability"));
        Assert.Equal(TarReaderTests.BinaryValue, Posix.GetXattr(L("ping"), "user.bin"));
        // Every directory's time matches the source (directories were written to after their entries).
        foreach (string d in new[] { "dev", "deep" })
            Assert.Equal(Posix.Stat(Path.Combine(src, d)).MtimeSeconds, Posix.Stat(L(d)).MtimeSeconds);
    }

    [Fact]
    public void ParentThatIsAFileFailsWithAnEngineError()
    {
        var e = Assert.Throws<EngineException>(() => Apply(new RawTar().File1("f", "x").File1("f/g", "y")));
        Assert.Equal("LayerEntryFailed", e.ErrorId);
    }

    [Fact]
    public void NulInANameIsRefused()
    {
        var e = Assert.Throws<EngineException>(() => Apply(new RawTar().Add("x", pax: [("path", Encoding.UTF8.GetBytes("a\0b"))])));
        Assert.Equal("LayerPathInvalid", e.ErrorId);
    }

    [Fact]
    public void TruncatedLayerThrowsAndTheCallerCanCleanUp()
    {
        var tar = new RawTar().File1("a", "a").Add("dev/null", RawTar.CharDevice, major: 1, minor: 3).Add("b", data: new byte[4000]).ToArray();
        Assert.Equal(DataProblem.Truncated, Assert.Throws<DataIntegrityException>(() => LayerApplier.Apply(new NonSeekableStream(new MemoryStream(tar[..2500])), layer)).Problem);
        Assert.True(Posix.Exists(L("dev/null")));
        LayerStore.DeleteTree(layer);
        Assert.False(Directory.Exists(layer));
    }

    [Fact]
    public void BadChecksumThrowsAndTheCallerCanCleanUp()
    {
        var tar = new RawTar().File1("a", "a").Add("d/", RawTar.Directory, mode: 0x16D).File1("d/b", "b").ToArray();
        tar[1024 + 2] ^= 0x01; // corrupt the second header
        Assert.Throws<InvalidDataException>(() => LayerApplier.Apply(new MemoryStream(tar), layer));
        LayerStore.DeleteTree(layer);
        Assert.False(Directory.Exists(layer));
    }

    [Fact]
    public void CleanPathRules()
    {
        Assert.Equal("a/b", LayerApplier.CleanPath("/a//./b/"));
        Assert.Equal("", LayerApplier.CleanPath("./"));
        Assert.Equal("b", LayerApplier.CleanPath("a/../b"));
        Assert.Equal("LayerPathEscapes", Assert.Throws<EngineException>(() => LayerApplier.CleanPath("a/../../b")).ErrorId);
        Assert.Equal("LayerPathEscapes", Assert.Throws<EngineException>(() => LayerApplier.CleanPath("/../b")).ErrorId);
    }
}
