using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Archives;
using Xunit;

namespace PSContainer.Tests;

public class ArchiveSourceTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string Read(IArchiveSource s, string path) => Encoding.UTF8.GetString(s.ReadSmall(path));

    [Fact]
    public void TarFileSourceReadsMembersInPlaceAndFollowsLinksBetweenThem()
    {
        string path = dir.Combine("a.tar");
        File.WriteAllBytes(path, new RawTar()
            .File1("./a/layer.tar", "LAYER")
            .Add("b/layer.tar", RawTar.Symlink, link: "../a/layer.tar")
            .Add("c/layer.tar", RawTar.HardLink, link: "a/layer.tar")
            .Add("loop1", RawTar.Symlink, link: "loop2")
            .Add("loop2", RawTar.Symlink, link: "loop1")
            .Add("d/", RawTar.Directory)
            .ToArray());
        using var source = new TarFileSource(path);
        Assert.True(source.Exists("a/layer.tar"));
        Assert.True(source.Exists("/a/./layer.tar"));
        Assert.Equal("LAYER", Read(source, "a/layer.tar"));
        Assert.Equal("LAYER", Read(source, "b/layer.tar"));
        Assert.Equal("LAYER", Read(source, "c/layer.tar"));
        Assert.Equal(5, source.SizeOf("b/layer.tar"));
        Assert.Equal("ArchiveLinkLoop", Assert.Throws<EngineException>(() => source.Open("loop1")).ErrorId);
        Assert.Equal("ArchiveMemberMissing", Assert.Throws<EngineException>(() => source.Open("nope")).ErrorId);
        Assert.Equal("ArchiveMemberNotFile", Assert.Throws<EngineException>(() => source.Open("d")).ErrorId);
    }

    [Fact]
    public void DirectorySourceRefusesPathsOutsideIt()
    {
        string root = dir.CreateDirectory("layout");
        File.WriteAllText(Path.Combine(root, "index.json"), "{}");
        File.WriteAllText(dir.Combine("secret"), "s");
        using var source = new DirectorySource(root);
        Assert.True(source.Exists("index.json"));
        Assert.True(source.Exists("/index.json"));
        Assert.Equal("ArchivePathEscapes", Assert.Throws<EngineException>(() => source.Exists("../secret")).ErrorId);
        Assert.Equal("ArchivePathEscapes", Assert.Throws<EngineException>(() => source.Open("blobs/../../secret")).ErrorId);
    }

    [Fact]
    public void ReadSmallRefusesLargeDocuments()
    {
        string root = dir.CreateDirectory("big");
        File.WriteAllBytes(Path.Combine(root, "manifest.json"), new byte[2000]);
        using var source = new DirectorySource(root);
        Assert.Equal("ArchiveDocumentTooLarge", Assert.Throws<EngineException>(() => source.ReadSmall("manifest.json", 1000)).ErrorId);
    }
}
