using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Registry;
using Xunit;

namespace PSContainer.Tests;

public class AuthChallengeTests
{
    [Fact]
    public void ParsesADockerHubBearerChallenge()
    {
        var c = Assert.Single(AuthChallenge.Parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\""));
        Assert.True(c.IsBearer);
        Assert.Equal("https://auth.docker.io/token", c.Realm);
        Assert.Equal("registry.docker.io", c.Service);
        Assert.Equal("repository:library/busybox:pull", c.Scope);
    }

    [Fact]
    public void ParsesBasicAndSeveralChallengesInOneHeader()
    {
        var all = AuthChallenge.Parse("Basic realm=\"Registry Realm\", Bearer realm=\"https://t/x\",service=\"s\",error=\"insufficient_scope\"");
        Assert.Equal(2, all.Count);
        Assert.True(all[0].IsBasic);
        Assert.Equal("Registry Realm", all[0].Realm);
        Assert.True(all[1].IsBearer);
        Assert.Equal("insufficient_scope", all[1].Error);
        Assert.Equal("s", all[1].Service);
    }

    [Fact]
    public void HandlesEscapesUnquotedValuesCaseAndSpaces()
    {
        var c = Assert.Single(AuthChallenge.Parse("bearer  Realm = https://h:5001/auth , scope=\"repository:a/b:pull,push repository:c:pull\", x=\"q\\\"uote\""));
        Assert.True(c.IsBearer);
        Assert.Equal("https://h:5001/auth", c.Realm);
        Assert.Equal("repository:a/b:pull,push repository:c:pull", c.Scope);
        Assert.Equal("q\"uote", c.Parameters["x"]);
    }

    [Fact]
    public void SchemeWithoutParametersAndGarbage()
    {
        Assert.Empty(AuthChallenge.Parse(""));
        Assert.Empty(AuthChallenge.Parse((string?)null));
        var c = Assert.Single(AuthChallenge.Parse("Negotiate"));
        Assert.Equal("Negotiate", c.Scheme);
        Assert.Empty(c.Parameters);
        Assert.Equal(2, AuthChallenge.Parse(new[] { "Basic realm=\"a\"", "Bearer realm=\"b\"" }).Count);
    }
}

public class CredentialStoreTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void DecodesDockerConfigAuths()
    {
        string json = $$"""
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "{{B64("hubuser:hub:pass")}}"},
              "127.0.0.1:5000": {"auth": "{{B64("alice:secret").TrimEnd('=')}}"},
              "https://quay.io": {"username": "bob", "password": "pw"},
              "broken.example": {"auth": "!!!"},
              "empty.example": {}
            }, "credsStore": "desktop"}
            """;
        var auths = CredentialStore.ParseAuths(Encoding.UTF8.GetBytes(json), "test");
        Assert.Equal(new RegistryCredential("hubuser", "hub:pass"), auths["docker.io"]);
        Assert.Equal(new RegistryCredential("alice", "secret"), auths["127.0.0.1:5000"]);
        Assert.Equal(new RegistryCredential("bob", "pw"), auths["quay.io"]);
        Assert.False(auths.ContainsKey("broken.example"));
        Assert.False(auths.ContainsKey("empty.example"));
    }

    [Theory]
    [InlineData("https://index.docker.io/v1/", "docker.io")]
    [InlineData("index.docker.io", "docker.io")]
    [InlineData("registry-1.docker.io", "docker.io")]
    [InlineData("http://Host.Example:5000/v2/", "host.example:5000")]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5000")]
    public void NormalizesRegistryKeys(string key, string expected) => Assert.Equal(expected, CredentialStore.NormalizeRegistry(key));

    [Fact]
    public void DockerHubIsStoredUnderDockersKey() => Assert.Equal("https://index.docker.io/v1/", CredentialStore.KeyFor("docker.io"));

    [Fact]
    public void SavesWithMode0600AndRemoves()
    {
        string own = dir.Combine("root", "auth.json");
        string docker = dir.Combine("docker.json");
        File.WriteAllText(docker, "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" + B64("docker:user") + "\"}}}");
        var store = new CredentialStore(own, [docker]);
        Assert.Equal("docker", store.Find("127.0.0.1:5000")!.UserName);

        store.Save("127.0.0.1:5000", new RegistryCredential("ours", "pw"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(own));
        Assert.Equal(new RegistryCredential("ours", "pw"), store.Find("127.0.0.1:5000")); // ours first
        Assert.Contains("\"auth\"", File.ReadAllText(own));
        Assert.DoesNotContain("pw\"", File.ReadAllText(own));

        store.Save("docker.io", new RegistryCredential("hub", "x"));
        Assert.Contains(CredentialStore.DockerHubKey, File.ReadAllText(own));
        Assert.Equal("hub", store.Find("index.docker.io")!.UserName);

        Assert.True(store.Remove("127.0.0.1:5000"));
        Assert.False(store.Remove("127.0.0.1:5000"));
        Assert.Equal("docker", store.Find("127.0.0.1:5000")!.UserName); // docker's file is never written
        Assert.True(store.InReadOnlyFiles("127.0.0.1:5000"));
        Assert.Empty(Directory.GetFiles(dir.Combine("root"), "*.tmp"));
    }

    [Fact]
    public void InvalidJsonIsAnError()
    {
        var e = Assert.Throws<EngineException>(() => CredentialStore.ParseAuths("{nope"u8.ToArray(), "f"));
        Assert.Equal("InvalidCredentialFile", e.ErrorId);
    }
}

public class RegistryConfigurationTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void ReadsInsecureRegistriesAndMirrors()
    {
        var config = RegistryConfiguration.Parse("""
            {
              // comments are allowed
              "insecure-registries": ["myhost:5000"],
              "registry-mirrors": ["https://mirror.example", "127.0.0.1:5001"],
              "registries": {
                "quay.io": { "mirrors": ["http://127.0.0.1:5002/"], "insecure": false },
                "Other.Example:443": { "insecure": true }
              }
            }
            """u8.ToArray(), "test.json");
        Assert.Contains("myhost:5000", config.Insecure);
        Assert.Contains("other.example:443", config.Insecure);
        Assert.DoesNotContain("quay.io", config.Insecure);
        Assert.Equal(["https://mirror.example/", "https://127.0.0.1:5001/"], config.Mirrors["docker.io"].Select(u => u.ToString()));
        Assert.Equal("http://127.0.0.1:5002/", Assert.Single(config.Mirrors["quay.io"]).ToString());
    }

    [Theory]
    [InlineData("""{"insecure-registries": "x"}""")]
    [InlineData("""{"unknown": 1}""")]
    [InlineData("""{"registries": {"a": {"insecure": "yes"}}}""")]
    [InlineData("""{"registry-mirrors": ["ftp://x"]}""")]
    [InlineData("""[1]""")]
    [InlineData("""{""")]
    public void RejectsInvalidConfiguration(string json)
    {
        var e = Assert.Throws<EngineException>(() => RegistryConfiguration.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.Equal("InvalidRegistryConfig", e.ErrorId);
        Assert.Contains("bad.json", e.Message);
    }

    [Fact]
    public void SettingsForAHost()
    {
        string file = dir.Combine("registries.json");
        File.WriteAllText(file, """{"insecure-registries": ["build.local:5000"]}""");
        var settings = new RegistrySettings(RegistryConfiguration.Load(file), new CredentialStore(dir.Combine("auth.json"), []), new CertsDirectory([dir.Combine("certs.d")]));
        var insecure = settings.For("build.local:5000");
        Assert.True(insecure.Insecure);
        Assert.True(insecure.AllowHttp);
        var hub = settings.For("docker.io");
        Assert.Equal("registry-1.docker.io", hub.ApiHost);
        Assert.False(hub.AllowHttp);
        Assert.True(settings.For("localhost:5000").AllowHttp);
        Assert.False(settings.For("localhost:5000").Insecure);
        Assert.Same(RegistryConfiguration.Empty, RegistryConfiguration.Load(dir.Combine("missing.json")));
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("localhost:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("127.1.2.3", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("10.0.0.1:5000", false)]
    [InlineData("docker.io", false)]
    [InlineData("localhost.example.com", false)]
    public void LocalhostIsRecognized(string host, bool expected) => Assert.Equal(expected, RegistrySettings.IsLocalhost(host));
}

public class CertsDirectoryTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void FindsCasAndClientPairsInEveryRoot()
    {
        string ours = dir.CreateDirectory("ours", "127.0.0.1:5000");
        string docker = dir.CreateDirectory("docker", "127.0.0.1:5000");
        dir.CreateDirectory("docker", "other:5000");
        File.WriteAllText(Path.Combine(ours, "ca.crt"), "x");
        File.WriteAllText(Path.Combine(docker, "extra.crt"), "x");
        File.WriteAllText(Path.Combine(docker, "client.cert"), "x");
        File.WriteAllText(Path.Combine(docker, "client.key"), "x");
        File.WriteAllText(Path.Combine(docker, "README"), "ignored");
        var certs = new CertsDirectory([dir.Combine("ours"), dir.Combine("docker"), dir.Combine("missing")]);
        var found = certs.Find("127.0.0.1:5000");
        Assert.Equal([Path.Combine(ours, "ca.crt"), Path.Combine(docker, "extra.crt")], found.CaFiles);
        var client = Assert.Single(found.ClientCertificates);
        Assert.Equal(Path.Combine(docker, "client.cert"), client.Certificate);
        Assert.Equal(Path.Combine(docker, "client.key"), client.Key);
        Assert.True(certs.Find("127.0.0.1:5001").IsEmpty);
    }

    [Fact]
    public void AClientCertificateWithoutKeyIsAnError()
    {
        string d = dir.CreateDirectory("c", "h:1");
        File.WriteAllText(Path.Combine(d, "client.cert"), "x");
        var e = Assert.Throws<EngineException>(() => new CertsDirectory([dir.Combine("c")]).Find("h:1"));
        Assert.Equal("InvalidCertificate", e.ErrorId);
    }

    [Fact]
    public void UnreadableCaIsAnError()
    {
        string d = dir.CreateDirectory("c", "h:1");
        File.WriteAllText(Path.Combine(d, "ca.crt"), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
        var e = Assert.Throws<EngineException>(() => CertsDirectory.LoadCa([Path.Combine(d, "ca.crt")]));
        Assert.Equal("InvalidCertificate", e.ErrorId);
    }
}

public class PlatformSelectionTests
{
    private static Descriptor Entry(string digestChar, string os, string arch, string? variant = null, string mediaType = MediaTypes.OciManifest) => new()
    {
        MediaType = mediaType,
        Digest = "sha256:" + new string(digestChar[0], 64),
        Size = 100,
        Platform = new Platform { Os = os, Architecture = arch, Variant = variant },
    };

    private static readonly ImageIndex Index = new()
    {
        Manifests =
        [
            Entry("a", "linux", "amd64"),
            Entry("b", "linux", "arm64", "v8"),
            Entry("c", "linux", "arm", "v6"),
            Entry("d", "linux", "arm", "v7"),
            Entry("e", "unknown", "unknown"),
            Entry("f", "windows", "amd64"),
        ],
    };

    [Theory]
    [InlineData("linux/amd64", 'a')]
    [InlineData("amd64", 'a')]
    [InlineData("linux/x86_64", 'a')]
    [InlineData("linux/arm64", 'b')]
    [InlineData("linux/arm64/v8", 'b')]
    [InlineData("linux/aarch64", 'b')]
    [InlineData("linux/arm/v6", 'c')]
    [InlineData("linux/arm", 'd')]
    [InlineData("linux/armhf", 'd')]
    [InlineData("windows/amd64", 'f')]
    public void SelectsThePlatform(string wanted, char expected) =>
        Assert.Equal("sha256:" + new string(expected, 64), PlatformSelector.Select(Index, PlatformSpec.Parse(wanted), "img").Digest);

    [Fact]
    public void NoMatchListsWhatExists()
    {
        var e = Assert.Throws<EngineException>(() => PlatformSelector.Select(Index, PlatformSpec.Parse("linux/s390x"), "img:1"));
        Assert.Equal("NoMatchingPlatform", e.ErrorId);
        Assert.Contains("linux/s390x", e.Message);
        Assert.Contains("linux/amd64, linux/arm64, linux/arm/v6, linux/arm/v7, windows/amd64", e.Message);
        Assert.DoesNotContain("unknown", e.Message);
    }

    [Fact]
    public void AnArm64EntryWithoutVariantMatchesV8()
    {
        var index = new ImageIndex { Manifests = [Entry("1", "linux", "arm64")] };
        Assert.Equal("sha256:" + new string('1', 64), PlatformSelector.Select(index, PlatformSpec.Parse("linux/arm64/v8"), "x").Digest);
    }

    [Fact]
    public void EntriesWithoutPlatformAndAttestationsNeverMatch()
    {
        var index = new ImageIndex { Manifests = [new Descriptor { MediaType = MediaTypes.OciManifest, Digest = "sha256:" + new string('9', 64) }] };
        Assert.Equal("NoMatchingPlatform", Assert.Throws<EngineException>(() => PlatformSelector.Select(index, PlatformSpec.Parse("linux/amd64"), "x")).ErrorId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("linux//amd64")]
    [InlineData("a/b/c/d")]
    public void InvalidPlatforms(string text) =>
        Assert.Equal("InvalidPlatform", Assert.Throws<EngineException>(() => PlatformSpec.Parse(text)).ErrorId);

    [Fact]
    public void HostPlatformIsLinux()
    {
        Assert.Equal("linux", PlatformSpec.Host.Os);
        Assert.Equal(PSContainer.Engine.Images.ImageImporter.HostArchitecture, PlatformSpec.Host.Architecture);
    }
}
