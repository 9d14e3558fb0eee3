using PSContainer.Engine;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Hostile layers. Each is applied into TMP/layer while TMP/outside (with a canary file) exists beside it; whatever
/// the applier does with the entry (confine it to the layer or refuse the layer), nothing outside the layer may be
/// created, removed or modified.
/// </summary>
public class LayerApplierSecurityTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly string layer, outside, canary, before;

    public LayerApplierSecurityTests()
    {
        layer = dir.CreateDirectory("layer");
        outside = dir.CreateDirectory("outside");
        canary = Path.Combine(outside, "canary");
        File.WriteAllText(canary, "canary");
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        File.SetLastWriteTimeUtc(canary, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Directory.SetLastWriteTimeUtc(outside, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        before = TreeSnapshot.Take(outside);
    }

    public void Dispose() => dir.Dispose();

    private string L(string relative) => Path.Combine(layer, relative);

    /// <summary>Relative path from the layer root to the outside directory through the real parent.</summary>
    private const string UpToOutside = "../outside";

    /// <summary>Applies a hostile layer; returns the engine's refusal, or null when it applied (confined).</summary>
    private EngineException? ApplyHostile(RawTar tar)
    {
        EngineException? refused = null;
        try
        {
            LayerApplier.Apply(new NonSeekableStream(new MemoryStream(tar.ToArray())), layer);
        }
        catch (EngineException e)
        {
            refused = e;
        }
        AssertOutsideUntouched();
        return refused;
    }

    private void AssertOutsideUntouched()
    {
        Assert.Equal(before, TreeSnapshot.Take(outside));
        Assert.Equal(new string?[] { "layer", "outside" }, Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(1u, Posix.Stat(canary).Links);
        Assert.Equal("canary", File.ReadAllText(canary));
    }

    // (a) absolute names ------------------------------------------------------------------------------------

    [Fact]
    public void AbsoluteNameIntoEtcIsConfined()
    {
        string name = $"/etc/psc-unit-{Guid.NewGuid():N}";
        try
        {
            var refused = ApplyHostile(new RawTar().File1(name, "pwned"));
            Assert.False(File.Exists(name), "an absolute member name was written to the host");
            if (refused is null) Assert.Equal("pwned", File.ReadAllText(L(name.TrimStart('/'))));
        }
        finally
        {
            File.Delete(name);
        }
    }

    [Fact]
    public void AbsoluteNameOfTheOutsideDirectoryIsConfined()
    {
        var refused = ApplyHostile(new RawTar().File1(Path.Combine(outside, "pwned"), "pwned").File1(canary, "overwritten"));
        Assert.Null(refused);
        Assert.Equal("pwned", File.ReadAllText(L(outside.TrimStart('/') + "/pwned")));
        Assert.Equal("overwritten", File.ReadAllText(L(canary.TrimStart('/'))));
    }

    // (b) ".." in names -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("../outside/pwned")]
    [InlineData("./../outside/canary")]
    [InlineData("a/b/../../../outside/canary")]
    [InlineData("/../outside/canary")]
    public void DotDotThatClimbsOutIsRefused(string name)
    {
        var refused = ApplyHostile(new RawTar().File1("ok", "first").File1(name, "pwned"));
        Assert.NotNull(refused);
        Assert.Equal("LayerPathEscapes", refused.ErrorId);
        Assert.False(File.Exists(Path.Combine(dir.Path, "x")));
    }

    [Theory]
    [InlineData(RawTar.Directory)]
    [InlineData(RawTar.Symlink)]
    [InlineData(RawTar.CharDevice)]
    [InlineData(RawTar.Fifo)]
    public void DotDotIsRefusedForEveryEntryKind(char kind)
    {
        var refused = ApplyHostile(new RawTar().Add("../outside/new", kind, link: "x"));
        Assert.Equal("LayerPathEscapes", refused?.ErrorId);
    }

    // (c), (d) symlinked directories pointing out -------------------------------------------------------------

    [Theory]
    [InlineData(true, "")]
    [InlineData(false, UpToOutside)]
    [InlineData(false, "../../outside")]
    [InlineData(false, "./" + UpToOutside)]
    [InlineData(false, "sub/../../outside")]
    public void WritingThroughASymlinkThatPointsOutIsConfined(bool absolute, string relativeTarget)
    {
        string target = absolute ? outside : relativeTarget;
        // relative "../../outside" from TMP/layer/evil is /tmp/outside: make sure that is checked too.
        ApplyHostile(new RawTar().Add("evil", RawTar.Symlink, link: target).File1("evil/pwned", "pwned").File1("evil/canary", "overwritten"));
        Assert.False(File.Exists(Path.Combine(outside, "pwned")));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "outside", "pwned")));
    }

    [Fact]
    public void AbsoluteSymlinkToTmpThenFileIsConfined()
    {
        // evil -> /tmp/<this test's dir>/outside, written as the literal host path.
        string target = "/" + Path.GetRelativePath("/", outside);
        ApplyHostile(new RawTar().Add("evil", RawTar.Symlink, link: target).Add("evil/sub/", RawTar.Directory, mode: 0x1FF).File1("evil/sub/pwned", "pwned"));
        Assert.False(Directory.Exists(Path.Combine(outside, "sub", "pwned")));
    }

    // (e) hard links to files outside -------------------------------------------------------------------------

    [Fact]
    public void HardLinkToAnAbsoluteOutsidePathIsRefused()
    {
        var refused = ApplyHostile(new RawTar().Add("stolen", RawTar.HardLink, link: canary));
        Assert.NotNull(refused);
        Assert.False(Posix.Exists(L("stolen")) && Posix.Stat(L("stolen")).Inode == Posix.Stat(canary).Inode);
    }

    [Fact]
    public void HardLinkWithDotDotIsRefused()
    {
        var refused = ApplyHostile(new RawTar().Add("stolen", RawTar.HardLink, link: "../outside/canary"));
        Assert.Equal("LayerPathEscapes", refused?.ErrorId);
        refused = ApplyHostile(new RawTar().Add("stolen2", RawTar.HardLink, link: "a/../../outside/canary"));
        Assert.Equal("LayerPathEscapes", refused?.ErrorId);
    }

    [Fact]
    public void HardLinkThroughASymlinkedDirectoryIsRefused()
    {
        var refused = ApplyHostile(new RawTar().Add("l", RawTar.Symlink, link: outside).Add("stolen", RawTar.HardLink, link: "l/canary"));
        Assert.NotNull(refused);
        refused = ApplyHostile(new RawTar().Add("m", RawTar.Symlink, link: UpToOutside).Add("stolen", RawTar.HardLink, link: "m/canary"));
        Assert.NotNull(refused);
    }

    [Fact]
    public void HardLinkToASymlinkThatPointsOutLinksTheSymlinkItself()
    {
        ApplyHostile(new RawTar().Add("s", RawTar.Symlink, link: canary).Add("h", RawTar.HardLink, link: "s"));
        if (Posix.Exists(L("h")))
        {
            Assert.True(Posix.Stat(L("h")).IsSymlink);
            Assert.Equal(Posix.Stat(L("s")).Inode, Posix.Stat(L("h")).Inode);
        }
    }

    // (f) a directory swapped for a symlink ------------------------------------------------------------------

    [Fact]
    public void DirectorySwappedForASymlinkThenWrittenThroughIsConfined()
    {
        ApplyHostile(new RawTar()
            .Add("d/", RawTar.Directory)
            .File1("d/innocent", "i")
            .Add("d", RawTar.Symlink, link: outside)
            .File1("d/pwned", "pwned")
            .Add("d/.wh.canary")
            .Add("d/.wh..wh..opq"));
        Assert.False(File.Exists(Path.Combine(outside, "pwned")));
    }

    [Fact]
    public void DeferredDirectoryTimesAreNotSetThroughASwappedInSymlink()
    {
        var refused = ApplyHostile(new RawTar()
            .Add("d/", RawTar.Directory, mtime: 1_000_000_000)
            .Add("d", RawTar.Symlink, link: outside));
        Assert.Null(refused);
        Assert.True(Posix.Stat(L("d")).IsSymlink);
    }

    [Fact]
    public void DirectoryEntryOverASymlinkDoesNotChangeTheTarget()
    {
        var refused = ApplyHostile(new RawTar()
            .Add("evil", RawTar.Symlink, link: outside)
            .Add("evil/", RawTar.Directory, mode: 0x1FF, uid: 1234, gid: 1234, mtime: 1_000_000_000,
                pax: [("SCHILY.xattr.trusted.psc", "x"u8.ToArray()), ("SCHILY.xattr.user.psc", "x"u8.ToArray())]));
        Assert.Null(refused);
        Assert.True(Posix.Stat(L("evil")).IsDirectory);
        Assert.Equal(1234u, Posix.Stat(L("evil")).Uid);
    }

    // (g) a chain of symlinks --------------------------------------------------------------------------------

    [Fact]
    public void SymlinkChainPointingOutIsConfined()
    {
        ApplyHostile(new RawTar()
            .Add("a", RawTar.Symlink, link: "b")
            .Add("b", RawTar.Symlink, link: outside)
            .File1("a/x", "pwned")
            .Add("c", RawTar.Symlink, link: "a/../" + UpToOutside)
            .File1("c/y", "pwned"));
        Assert.False(File.Exists(Path.Combine(outside, "x")));
        Assert.False(File.Exists(Path.Combine(outside, "y")));
    }

    // (h) whiteouts that try to climb out ---------------------------------------------------------------------

    [Theory]
    [InlineData("../.wh.canary")]
    [InlineData("../outside/.wh.canary")]
    [InlineData("a/../../outside/.wh.newname")]
    [InlineData("../outside/.wh..wh..opq")]
    public void WhiteoutWithDotDotIsRefused(string name)
    {
        var refused = ApplyHostile(new RawTar().Add(name));
        Assert.Equal("LayerPathEscapes", refused?.ErrorId);
    }

    [Fact]
    public void WhiteoutOfDotDotIsRefused()
    {
        var refused = ApplyHostile(new RawTar().Add("a/.wh.."));
        Assert.Equal("LayerEntryRefused", refused?.ErrorId);
    }

    [Fact]
    public void WhiteoutAndOpaqueThroughASymlinkAreConfined()
    {
        ApplyHostile(new RawTar().Add("evil", RawTar.Symlink, link: outside).Add("evil/.wh.newname"));
        ApplyHostile(new RawTar().Add("evil2", RawTar.Symlink, link: UpToOutside).Add("evil2/.wh..wh..opq"));
        Assert.False(Posix.Exists(Path.Combine(outside, "newname")));
        Assert.Null(Posix.GetXattr(outside, "trusted.overlay.opaque"));
    }

    // (i) a file over a symlink -------------------------------------------------------------------------------

    [Fact]
    public void FileOverASymlinkReplacesTheSymlink()
    {
        var refused = ApplyHostile(new RawTar()
            .Add("x", RawTar.Symlink, link: canary)
            .Add("x", data: "replaced"u8.ToArray(), mode: 0x1FF, uid: 1234)
            .Add("y", RawTar.Symlink, link: "../outside/canary")
            .Add("y", RawTar.CharDevice, major: 1, minor: 3)
            .Add("z", RawTar.Symlink, link: outside)
            .Add("z", RawTar.Fifo));
        Assert.Null(refused);
        Assert.True(Posix.Stat(L("x")).IsRegular);
        Assert.Equal("replaced", File.ReadAllText(L("x")));
        Assert.True(Posix.Stat(L("y")).IsCharDevice);
        Assert.True(Posix.Stat(L("z")).IsFifo);
    }

    [Fact]
    public void SymlinkAttributesAreNotAppliedToItsTarget()
    {
        var refused = ApplyHostile(new RawTar().Add("s", RawTar.Symlink, link: canary, uid: 1234, gid: 1234, mode: 0xFFF, mtime: 1_000_000_000,
            pax: [("SCHILY.xattr.trusted.psc", "x"u8.ToArray()), ("SCHILY.xattr.user.psc", "x"u8.ToArray())]));
        Assert.Null(refused);
        var st = Posix.Stat(L("s"));
        Assert.True(st.IsSymlink);
        Assert.Equal(1234u, st.Uid);
        Assert.Equal("x"u8.ToArray(), Posix.GetXattr(L("s"), "trusted.psc"));
    }

    [Fact]
    public void LayerRootCannotBeReplacedByASymlink()
    {
        var refused = ApplyHostile(new RawTar().Add("./", RawTar.Symlink, link: outside).File1("pwned", "p"));
        Assert.Equal("LayerEntryRefused", refused?.ErrorId);
        Assert.True(Posix.Stat(layer).IsDirectory);
    }

    // broken archives -----------------------------------------------------------------------------------------

    [Fact]
    public void TruncatedHostileArchiveThrowsAndLeavesOutsideAlone()
    {
        var tar = new RawTar().Add("evil", RawTar.Symlink, link: outside).Add("evil/pwned", data: new byte[3000]).ToArray();
        Assert.ThrowsAny<Exception>(() => LayerApplier.Apply(new NonSeekableStream(new MemoryStream(tar[..1800])), layer));
        AssertOutsideUntouched();
        LayerStore.DeleteTree(layer);
        Assert.False(Directory.Exists(layer));
        Assert.Equal(before, TreeSnapshot.Take(outside));
    }

    [Fact]
    public void DeleteTreeDoesNotFollowSymlinksOut()
    {
        LayerApplier.Apply(new MemoryStream(new RawTar().Add("s", RawTar.Symlink, link: outside).Add("t", RawTar.Symlink, link: UpToOutside)
            .Add("d/", RawTar.Directory).Add("d/u", RawTar.Symlink, link: canary).ToArray()), layer);
        LayerStore.DeleteTree(layer);
        Assert.False(Directory.Exists(layer));
        Assert.Equal(before, TreeSnapshot.Take(outside));
    }
}
