using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using Xunit;

namespace PSContainer.Tests;

public class ImageReferenceTests
{
    private static readonly string Hex = new('a', 64);

    [Fact]
    public void BareNameIsOfficialDockerHubImageWithLatest()
    {
        var r = ImageReference.Parse("busybox");
        Assert.Equal("docker.io", r.Domain);
        Assert.Equal("library/busybox", r.Path);
        Assert.Equal("latest", r.Tag);
        Assert.Null(r.Digest);
        Assert.Equal("docker.io/library/busybox:latest", r.ToString());
        Assert.Equal("busybox:latest", r.FamiliarString);
        Assert.Equal("busybox", r.FamiliarRepository);
        Assert.Equal("docker.io/library/busybox", r.Repository);
    }

    [Fact]
    public void NoDefaultTagWhenNotAsked()
    {
        var r = ImageReference.Parse("busybox", defaultTag: false);
        Assert.Null(r.Tag);
        Assert.Equal("docker.io/library/busybox", r.ToString());
    }

    [Fact]
    public void LibraryPrefixWithTag()
    {
        var r = ImageReference.Parse("library/busybox:1.36");
        Assert.Equal("docker.io/library/busybox:1.36", r.ToString());
        Assert.Equal("busybox:1.36", r.FamiliarString);
    }

    [Fact]
    public void RegistryWithPortAndDigestHasNoTag()
    {
        var r = ImageReference.Parse($"host:5000/a/b@sha256:{Hex}");
        Assert.Equal("host:5000", r.Domain);
        Assert.Equal("a/b", r.Path);
        Assert.Null(r.Tag);
        Assert.Equal(new Digest("sha256", Hex), r.Digest);
        Assert.Equal($"host:5000/a/b@sha256:{Hex}", r.ToString());
        Assert.Equal("host:5000/a/b", r.FamiliarRepository);
    }

    [Fact]
    public void LocalhostIsADomain()
    {
        var r = ImageReference.Parse("localhost/x");
        Assert.Equal("localhost", r.Domain);
        Assert.Equal("x", r.Path);
        Assert.Equal("localhost/x:latest", r.FamiliarString);
    }

    [Fact]
    public void TwoComponentNameIsOnDockerHubWithoutLibrary()
    {
        var r = ImageReference.Parse("a/b");
        Assert.Equal("docker.io", r.Domain);
        Assert.Equal("a/b", r.Path);
        Assert.Equal("a/b:latest", r.FamiliarString);
        Assert.Equal("docker.io/a/b:latest", r.ToString());
    }

    [Fact]
    public void IndexDockerIoIsNormalized()
    {
        var r = ImageReference.Parse("index.docker.io/foo");
        Assert.Equal("docker.io", r.Domain);
        Assert.Equal("library/foo", r.Path);
        Assert.Equal("foo:latest", r.FamiliarString);
        Assert.Equal(ImageReference.Parse("foo"), r);
    }

    [Fact]
    public void TagAndDigestTogether()
    {
        var r = ImageReference.Parse($"busybox:1.36@sha256:{Hex}");
        Assert.Equal("1.36", r.Tag);
        Assert.Equal($"sha256:{Hex}", r.Digest.ToString());
        Assert.Equal($"docker.io/library/busybox:1.36@sha256:{Hex}", r.ToString());
        Assert.Equal($"busybox:1.36@sha256:{Hex}", r.FamiliarString);
    }

    [Fact]
    public void RegistryPortWithTag()
    {
        var r = ImageReference.Parse("localhost:5000/app:1");
        Assert.Equal("localhost:5000", r.Domain);
        Assert.Equal("app", r.Path);
        Assert.Equal("1", r.Tag);
        Assert.Equal("localhost:5000/app:1", r.FamiliarString);
    }

    [Theory]
    [InlineData("docker.io/library/busybox", "busybox")]
    [InlineData("docker.io/library/a/b", "library/a/b")] // nested under library/ keeps the prefix, as docker does
    [InlineData("docker.io/user/app", "user/app")]
    [InlineData("quay.io/library/busybox", "quay.io/library/busybox")]
    [InlineData("localhost:5000/library/x", "localhost:5000/library/x")]
    public void FamiliarRepositoryRules(string text, string familiar)
    {
        Assert.Equal(familiar, ImageReference.Parse(text).FamiliarRepository);
    }

    [Theory]
    [InlineData("Busybox", "lowercase")]
    [InlineData("docker.io/Library/busybox", "lowercase")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("busybox:-x", "tag")]
    [InlineData("busybox:.x", "tag")]
    [InlineData("busybox@sha256:abc", "digest")]
    [InlineData("busybox@md5:0123456789abcdef0123456789abcdef", "digest")]
    [InlineData(":tag", "repository")]
    [InlineData("a//b", "component")]
    [InlineData("a/b_", "component")]
    [InlineData("my_host.com/x", "registry")]
    public void InvalidReferencesAreRefusedWithAReason(string text, string reasonContains)
    {
        Assert.False(ImageReference.TryParse(text, true, out var reference, out string? why));
        Assert.Null(reference);
        Assert.NotNull(why);
        Assert.Contains(reasonContains, why, StringComparison.OrdinalIgnoreCase);
        var e = Assert.Throws<EngineException>(() => ImageReference.Parse(text));
        Assert.Equal("InvalidReference", e.ErrorId);
    }

    [Fact]
    public void TagTooLongIsRefused()
    {
        Assert.True(ImageReference.TryParse("a:" + new string('t', 128), true, out _, out _));
        Assert.False(ImageReference.TryParse("a:" + new string('t', 129), true, out _, out _));
    }

    [Fact]
    public void WithTagDropsDigest()
    {
        var r = ImageReference.Parse($"busybox@sha256:{Hex}").WithTag("2");
        Assert.Null(r.Digest);
        Assert.Equal("docker.io/library/busybox:2", r.ToString());
    }
}
