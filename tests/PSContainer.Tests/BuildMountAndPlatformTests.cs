using PSContainer.Engine;
using PSContainer.Engine.Build;
using PSContainer.Engine.Images;
using Xunit;

namespace PSContainer.Tests;

/// <summary>RUN --mount specs, -Secret specs and build platforms as the builder reads them, table-driven.</summary>
public sealed class BuildMountAndPlatformTests
{
    public static TheoryData<string, string, string, string?, string?, string?, bool> Mounts => new()
    {
        // spec, type, target, source, from, id, rw
        { "type=bind,source=src,target=/mnt", "bind", "/mnt", "src", null, null, false },
        { "target=/mnt", "bind", "/mnt", null, null, null, false },
        { "type=bind,from=builder,src=/out,dst=rel,rw", "bind", "/work/rel", "/out", "builder", null, true },
        { "type=bind,from=alpine:3,source=/etc,destination=/e,readwrite=true", "bind", "/e", "/etc", "alpine:3", null, true },
        { "type=bind,target=/x,rw=false", "bind", "/x", null, null, null, false },
        { "type=cache,id=go,target=/root/.cache", "cache", "/root/.cache", null, null, "go", false },
        { "type=secret,id=token", "secret", "/run/secrets/token", null, null, "token", false },
        { "type=secret,target=/etc/app.cfg", "secret", "/etc/app.cfg", null, null, "app.cfg", false },
        { "type=secret,id=npm,target=/root/.npmrc,required", "secret", "/root/.npmrc", null, null, "npm", false },
        { "type=tmpfs,target=/tmp", "tmpfs", "/tmp", null, null, null, false },
    };

    [Theory]
    [MemberData(nameof(Mounts))]
    public void Reads_mount_specs(string text, string type, string target, string? source, string? from, string? id, bool rw)
    {
        var spec = RunMountSpec.Parse(text, "/work", 3);
        Assert.Equal(type, spec.Type);
        Assert.Equal(target, spec.Target);
        Assert.Equal(source, spec.Source);
        Assert.Equal(from, spec.From);
        Assert.Equal(id, spec.Id);
        Assert.Equal(rw, spec.ReadWrite);
    }

    [Fact]
    public void A_cache_may_be_locked_or_read_only()
    {
        var locked = RunMountSpec.Parse("type=cache,target=/var/cache/apt,sharing=locked", "/", 1);
        Assert.True(locked.Locked);
        Assert.False(locked.ReadOnly);
        var ro = RunMountSpec.Parse("type=cache,target=/c,ro", "/", 1);
        Assert.True(ro.ReadOnly);
        Assert.False(ro.Locked);
    }

    [Fact]
    public void A_required_secret_is_marked()
    {
        Assert.True(RunMountSpec.Parse("type=secret,id=a,required=true", "/", 1).Required);
        Assert.False(RunMountSpec.Parse("type=secret,id=a", "/", 1).Required);
    }

    [Theory]
    [InlineData("type=ssh", "UnsupportedMount")]
    [InlineData("type=ssh,id=default,target=/root/.ssh/agent", "UnsupportedMount")]
    [InlineData("type=bind,source=x", "InvalidMount")]
    [InlineData("type=secret", "InvalidMount")]
    [InlineData("type=cache,target=/c,uid=1000", "UnsupportedMount")]
    [InlineData("type=secret,id=t,env=TOKEN", "UnsupportedMount")]
    [InlineData("type=cache,target=/c,sharing=private", "UnsupportedMount")]
    [InlineData("type=cache,target=/c,from=builder,source=/x", "UnsupportedMount")]
    [InlineData("type=tmpfs,target=/t,size=10m", "UnsupportedMount")]
    public void Refuses_a_bad_or_unsupported_mount_naming_the_line(string text, string errorId)
    {
        var e = Assert.Throws<DockerfileException>(() => RunMountSpec.Parse(text, "/", 7));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(7, e.Line);
        Assert.Contains("line 7", e.Message);
        if (text.Contains("ssh")) Assert.Contains("type=ssh", e.Message);
    }

    [Theory]
    [InlineData("id=token,src=/tmp/t", "token", "/tmp/t")]
    [InlineData("id=token,source=rel/t", "token", "rel/t")]
    [InlineData("type=file,id=a.b-c_d,src=x", "a.b-c_d", "x")]
    [InlineData("id=only", "only", "only")]
    public void Reads_secret_specs(string text, string id, string path)
    {
        Assert.Equal((id, (string?)path, (string?)null), BuildSecret.Parse(text));
    }

    [Theory]
    [InlineData("id=token,env=TOKEN", "token", "TOKEN")]
    [InlineData("type=env,id=a,env=A_B", "a", "A_B")]
    public void Reads_secret_specs_from_the_environment(string text, string id, string env)
    {
        Assert.Equal((id, (string?)null, (string?)env), BuildSecret.Parse(text));
    }

    [Theory]
    [InlineData("src=/tmp/t")]
    [InlineData("id=a/b,src=x")]
    [InlineData("id=a,env=TOKEN,src=x")]
    [InlineData("id=a,env=")]
    [InlineData("id=a,type=ssh")]
    public void Refuses_a_bad_secret_spec(string text)
    {
        var e = Assert.Throws<EngineException>(() => BuildSecret.Parse(text));
        Assert.Equal("InvalidSecret", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("linux/amd64", "linux", "amd64", null)]
    [InlineData("LINUX/X86_64", "linux", "amd64", null)]
    [InlineData("linux/aarch64", "linux", "arm64", null)]
    [InlineData("linux/arm64/v8", "linux", "arm64", null)]
    [InlineData("linux/arm/v7", "linux", "arm", "v7")]
    [InlineData("arm64", "linux", "arm64", null)]
    public void Reads_platforms(string text, string os, string arch, string? variant)
    {
        Assert.Equal(new BuildPlatform(os, arch, variant), BuildPlatform.Parse(text, 1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("linux/")]
    [InlineData("linux/amd64/v2/x")]
    [InlineData("linux/am d64")]
    public void Refuses_a_bad_platform_naming_the_line(string text)
    {
        var e = Assert.Throws<DockerfileException>(() => BuildPlatform.Parse(text, 4));
        Assert.Equal("InvalidPlatform", e.ErrorId);
        Assert.Equal(4, e.Line);
    }

    [Fact]
    public void Matches_an_image_of_the_same_platform_only()
    {
        var amd64 = BuildPlatform.Parse("linux/amd64", 1);
        Assert.True(amd64.Matches("linux", "amd64", null));
        Assert.True(amd64.Matches(null, "x86_64", ""));
        Assert.False(amd64.Matches("linux", "arm64", null));
        Assert.False(amd64.Matches("windows", "amd64", null));
        var armv7 = BuildPlatform.Parse("linux/arm/v7", 1);
        Assert.True(armv7.Matches("linux", "arm", "v7"));
        Assert.True(armv7.Matches("linux", "arm", null));
        Assert.False(armv7.Matches("linux", "arm", "v6"));
    }

    [Fact]
    public void Predefines_buildkit_platform_args_for_the_host_and_the_target()
    {
        var args = BuildPlatform.PredefinedArgs(BuildPlatform.Host);
        string host = "linux/" + ImageImporter.HostArchitecture;
        Assert.Equal(host, args["BUILDPLATFORM"]);
        Assert.Equal(host, args["TARGETPLATFORM"]);
        Assert.Equal("linux", args["TARGETOS"]);
        Assert.Equal(ImageImporter.HostArchitecture, args["TARGETARCH"]);
        Assert.Equal(ImageImporter.HostArchitecture, args["BUILDARCH"]);
        Assert.Equal("", args["TARGETVARIANT"]);
        Assert.True(BuildPlatform.Host.RunsOnHost);
        Assert.False(new BuildPlatform("linux", ImageImporter.HostArchitecture == "s390x" ? "amd64" : "s390x", null).RunsOnHost);
    }
}
