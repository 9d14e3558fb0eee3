using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Volumes;
using Xunit;

namespace PSContainer.Tests;

/// <summary>docker's -v forms, the --mount CSV and the local driver's --opt keys, as text rules.</summary>
public sealed class VolumeSpecTests
{
    [Fact]
    public void VolumeForms()
    {
        var m = VolumeSpec.ParseVolumeArguments(["/srv:/a", "data:/b:ro", "/c", "cache:/d:nocopy"]);
        Assert.Equal(("bind", "/srv", "/a", false), (m[0].Type, m[0].Source, m[0].Destination, m[0].ReadOnly));
        Assert.Equal(("volume", "data", "/b", true), (m[1].Type, m[1].Source, m[1].Destination, m[1].ReadOnly));
        Assert.Equal(("volume", "", "/c"), (m[2].Type, m[2].Source, m[2].Destination));
        Assert.Equal("nocopy", m[3].Options);
    }

    [Theory]
    [InlineData("c")]           // relative anonymous path
    [InlineData("/")]           // the root
    [InlineData("/a:/b:nocopy")] // nocopy is for volumes
    [InlineData("../x:/data")]  // neither a path nor a name
    [InlineData("x/y:/data")]
    public void BadVolumes(string v)
    {
        var e = Assert.Throws<EngineException>(() => VolumeSpec.ParseVolumeArguments([v]));
        Assert.Equal("InvalidVolume", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("type=volume,source=vol,target=/data,readonly", "volume", "vol", "/data", true)]
    [InlineData("source=vol,dst=/data", "volume", "vol", "/data", false)]
    [InlineData("type=volume,target=/data", "volume", "", "/data", false)]
    [InlineData("type=bind,src=/srv/x/,target=/x,readonly=true", "bind", "/srv/x", "/x", true)]
    [InlineData("type=bind,source=/srv,destination=/x,ro=false", "bind", "/srv", "/x", false)]
    [InlineData("type=tmpfs,target=/t", "tmpfs", "tmpfs", "/t", false)]
    [InlineData("\"type=bind\",\"source=/a,b\",target=/x", "bind", "/a,b", "/x", false)]
    public void MountForms(string text, string type, string source, string target, bool ro)
    {
        var m = VolumeSpec.ParseMount(text);
        Assert.Equal((type, source, target, ro), (m.Type, m.Source, m.Destination, m.ReadOnly));
    }

    [Fact]
    public void TmpfsMountOptions()
    {
        var m = VolumeSpec.ParseMount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770");
        Assert.Equal("noexec,nosuid,nodev,size=67108864,mode=1770", m.Options);
    }

    [Theory]
    [InlineData("type=volume,source=v")]                    // no target
    [InlineData("type=volume,source=vol,target=rel")]         // relative target
    [InlineData("type=volume,source=../x,target=/d")]       // a name escaping the volumes directory
    [InlineData("type=bind,source=rel,target=/d")]          // relative bind source
    [InlineData("type=bind,target=/d")]                     // no bind source
    [InlineData("type=tmpfs,source=x,target=/d")]           // tmpfs has no source
    [InlineData("type=tmpfs,target=/d,tmpfs-mode=999")]
    [InlineData("type=tmpfs,target=/d,tmpfs-size=0")]
    [InlineData("type=volume,source=vol,target=/d,tmpfs-size=1m")]
    [InlineData("type=bind,source=/a,target=/d,volume-nocopy")]
    [InlineData("type=nfs,target=/d")]                      // unknown type
    [InlineData("type=volume,source=vol,target=/d,bogus=1")]  // unknown key
    [InlineData("type=volume,source=vol,target=/d,readonly=maybe")]
    [InlineData("type=volume,,target=/d")]                  // empty field
    [InlineData("type=volume,\"target=/d")]                 // unterminated quote
    [InlineData("type=volume,source=vol,target=/")]           // the root
    public void BadMounts(string text)
    {
        var e = Assert.Throws<EngineException>(() => VolumeSpec.ParseMount(text));
        Assert.Equal("InvalidMount", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void ADestinationIsMountedOnce()
    {
        var o = new ContainerOptions { Volumes = ["v1:/data"], Mounts = ["type=tmpfs,target=/data"] };
        Assert.Equal("DuplicateMountPoint", Assert.Throws<EngineException>(() => VolumeSpec.All(o)).ErrorId);
    }

    [Theory]
    [InlineData("ab", true)]
    [InlineData("my-vol_1.2", true)]
    [InlineData("a", false)]
    [InlineData("../x", false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Names(string name, bool valid) => Assert.Equal(valid, VolumeSpec.IsValidName(name));

    [Fact]
    public void DriverOptions()
    {
        var tmpfs = VolumeDriverOptions.Parse(new Dictionary<string, string> { ["type"] = "tmpfs", ["device"] = "tmpfs", ["o"] = "size=64m,noexec" }, "v");
        Assert.True(tmpfs.IsMount);
        Assert.Equal((PSContainer.Native.Mounts.MS_NOEXEC, "size=64m"), tmpfs.SplitO());
        var bind = VolumeDriverOptions.Parse(new Dictionary<string, string> { ["type"] = "none", ["o"] = "bind,ro", ["device"] = "/srv" }, "v");
        Assert.Equal(PSContainer.Native.Mounts.MS_BIND | PSContainer.Native.Mounts.MS_RDONLY, bind.SplitO().Flags);
        Assert.False(VolumeDriverOptions.Parse(new Dictionary<string, string>(), "v").IsMount);
    }

    [Theory]
    [InlineData("size", "10g")]                          // unknown key
    [InlineData("o", "size=1m")]                         // o without type
    [InlineData("device", "/dev/sda")]                   // device without type
    public void BadDriverOptions(string key, string value)
    {
        var e = Assert.Throws<EngineException>(() => VolumeDriverOptions.Parse(new Dictionary<string, string> { [key] = value }, "v"));
        Assert.StartsWith("InvalidVolumeOption", e.ErrorId);
    }

    [Fact]
    public void BindVolumesNeedBindAndADirectory()
    {
        Assert.Throws<EngineException>(() => VolumeDriverOptions.Parse(new Dictionary<string, string> { ["type"] = "none", ["device"] = "/srv" }, "v"));
        Assert.Throws<EngineException>(() => VolumeDriverOptions.Parse(new Dictionary<string, string> { ["type"] = "none", ["o"] = "bind", ["device"] = "rel" }, "v"));
        Assert.Throws<EngineException>(() => VolumeDriverOptions.Parse(new Dictionary<string, string> { ["type"] = "ext4" }, "v"));
    }
}
