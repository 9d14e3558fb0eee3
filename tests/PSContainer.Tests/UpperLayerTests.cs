using PSContainer.Engine.Containers;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>docker diff over overlayfs directories made by hand: whiteouts, opaque directories, several lowers.</summary>
public sealed class UpperLayerTests : IDisposable
{
    private readonly TempDir root = new();

    public void Dispose() => root.Dispose();

    private string File(string layer, string path, string content = "x")
    {
        string full = root.Combine([layer, .. path.Trim('/').Split('/')]);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return full;
    }

    private void Whiteout(string layer, string path)
    {
        string parent = Path.GetDirectoryName(path.Trim('/')) ?? "";
        Directory.CreateDirectory(root.Combine([layer, .. parent.Split('/', StringSplitOptions.RemoveEmptyEntries)]));
        using var dir = RootedDirectory.Open(root.Combine(layer));
        using var handle = dir.OpenDirectory(parent, create: false);
        handle.MakeNode(Path.GetFileName(path), Sys.S_IFCHR, 0, 0);
    }

    private void Opaque(string layer, string path)
    {
        using var dir = RootedDirectory.Open(root.Combine(layer));
        using var handle = dir.OpenDirectory(path.Trim('/'), create: true);
        handle.SetXattr("", "trusted.overlay.opaque", "y"u8.ToArray());
    }

    private IReadOnlyList<string> Diff() =>
        UpperLayer.Changes(root.Combine("upper"), [root.Combine("lower2"), root.Combine("lower1")]).Select(c => c.ToString()).ToList();

    [Fact]
    public void AddedChangedDeletedWithParentsChanged()
    {
        File("lower1", "/etc/passwd");
        File("lower1", "/etc/group");
        File("lower1", "/usr/share/doc/a");
        File("lower2", "/usr/share/doc/b");
        File("lower1", "/tmp/.keep");
        File("upper", "/etc/passwd", "changed");
        File("upper", "/usr/share/doc/new/file");
        Whiteout("upper", "/etc/group");
        Whiteout("upper", "/usr/share/doc/b");
        // Deleting what the image never had (made and removed in the container) is no change.
        Whiteout("upper", "/tmp/scratch");

        Assert.Equal([
            "C /etc", "D /etc/group", "C /etc/passwd", "C /usr", "C /usr/share", "C /usr/share/doc", "D /usr/share/doc/b",
            "A /usr/share/doc/new", "A /usr/share/doc/new/file",
        ], Diff().Where(l => l != "C /tmp"));
    }

    [Fact]
    public void AnOpaqueDirectoryIsChangedAndWhatItHidesIsDeleted()
    {
        File("lower1", "/data/old1");
        File("lower2", "/data/old2");
        File("lower1", "/data/kept");
        File("upper", "/data/kept", "again");
        File("upper", "/data/fresh");
        Opaque("upper", "/data");

        Assert.Equal(["C /data", "A /data/fresh", "C /data/kept", "D /data/old1", "D /data/old2"], Diff());
    }

    [Fact]
    public void LowerWhiteoutsAndOpaqueDirectoriesHideLowerLayers()
    {
        File("lower1", "/a/gone");
        Whiteout("lower2", "/a/gone");
        File("lower1", "/b/hidden");
        File("lower2", "/b/shown");
        Opaque("lower2", "/b");
        // The image (lower2 over lower1) has neither /a/gone nor /b/hidden: writing them adds them.
        File("upper", "/a/gone");
        File("upper", "/b/hidden");
        File("upper", "/b/shown");

        Assert.Null(UpperLayer.LowerPath([root.Combine("lower2"), root.Combine("lower1")], "/b/hidden"));
        Assert.Equal(["C /a", "A /a/gone", "C /b", "A /b/hidden", "C /b/shown"], Diff());
    }

    [Fact]
    public void WalkDoesNotFollowSymlinksAndListsParentsFirst()
    {
        File("upper", "/d/f");
        Directory.CreateSymbolicLink(root.Combine("upper", "link"), "/etc");
        var entries = UpperLayer.Walk(root.Combine("upper")).Select(e => (e.Path, e.Type)).ToList();
        Assert.Equal([("/d", UpperEntryType.Directory), ("/link", UpperEntryType.File), ("/d/f", UpperEntryType.File)], entries);
    }
}
