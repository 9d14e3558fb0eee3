using PSContainer.Engine;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// -Volume host paths as docker -v treats them: a missing directory is made at start (BindSource), what exists is
/// used as it is, a dangling symbolic link is refused, and a bare name is a volume name, not a path (ParseVolumes).
/// </summary>
public sealed class VolumeSourceTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "psc-volume-" + Guid.NewGuid().ToString("N"));

    public VolumeSourceTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void MakesAMissingDirectoryWithItsParentsAs0755()
    {
        string source = Path.Combine(dir, "a", "b", "c");
        Assert.True(BindSource.Prepare(source));
        Assert.True(Directory.Exists(source));
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                   UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        // The umask may take bits away, never add them.
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(source) & ~mode);
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(dir, "a")) & ~mode);
        Assert.True((File.GetUnixFileMode(source) & UnixFileMode.UserExecute) != 0);
        Assert.False(BindSource.Prepare(source));
    }

    [Fact]
    public void UsesWhatExistsAsItIs()
    {
        string file = Path.Combine(dir, "file");
        File.WriteAllText(file, "x");
        Assert.False(BindSource.Prepare(file));
        Assert.Equal("x", File.ReadAllText(file));
        Assert.False(BindSource.Prepare(dir));
        string link = Path.Combine(dir, "link-to-dir");
        File.CreateSymbolicLink(link, dir);
        Assert.False(BindSource.Prepare(link));
        // Sockets, fifos and devices are bound as docker binds them (docker.sock is the classic).
        Assert.False(BindSource.Prepare("/dev/null"));
    }

    [Fact]
    public void RefusesADanglingSymbolicLinkInsteadOfMakingWhereItPoints()
    {
        string target = Path.Combine(dir, "nowhere");
        string link = Path.Combine(dir, "dangling");
        File.CreateSymbolicLink(link, target);
        var e = Assert.Throws<EngineException>(() => BindSource.Prepare(link));
        Assert.Equal("BindSourceDanglingLink", e.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, e.Kind);
        Assert.Equal(link, e.Target);
        Assert.Contains(target, e.Message);
        Assert.False(Path.Exists(target));

        var below = Assert.Throws<EngineException>(() => BindSource.Prepare(Path.Combine(link, "sub")));
        Assert.Equal("BindSourceDanglingLink", below.ErrorId);
        Assert.Contains(link, below.Message);
        Assert.False(Path.Exists(target));
    }

    [Fact]
    public void RefusesALoopOfSymbolicLinks()
    {
        string one = Path.Combine(dir, "one"), two = Path.Combine(dir, "two");
        File.CreateSymbolicLink(one, two);
        File.CreateSymbolicLink(two, one);
        var e = Assert.Throws<EngineException>(() => BindSource.Prepare(one));
        Assert.Equal("BindSourceDanglingLink", e.ErrorId);
        Assert.Contains("loop", e.Message);
    }

    [Fact]
    public void SaysWhyAPathCannotBeMade()
    {
        string file = Path.Combine(dir, "file");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<EngineException>(() => BindSource.Prepare(Path.Combine(file, "sub")));
        Assert.Equal("BindSourceNotCreated", e.ErrorId);
        Assert.Equal(ErrorKind.WriteError, e.Kind);
        Assert.Contains(Path.Combine(file, "sub"), e.Message);
    }

    [Theory]
    [InlineData("data:/data")]
    [InlineData("my-vol_1.2:/data:ro")]
    public void ABareNameIsAVolumeNameNotAPath(string volume)
    {
        var m = Assert.Single(RuntimeSpecBuilder.ParseVolumes([volume]));
        Assert.Equal("volume", m.Type);
        Assert.Equal(volume.Split(':')[0], m.Source);
        Assert.Equal("/data", m.Destination);
        Assert.Equal(volume.EndsWith(":ro"), m.ReadOnly);
    }

    [Fact]
    public void AnotherRelativePathMustBeMadeAbsoluteFirst()
    {
        var e = Assert.Throws<EngineException>(() => RuntimeSpecBuilder.ParseVolumes(["sub/dir:/data"]));
        Assert.Equal("InvalidVolume", e.ErrorId);
        Assert.Contains("absolute", e.Message);
    }
}
