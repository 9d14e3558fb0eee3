using System.Net;
using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Registry;
using Xunit;

namespace PSContainer.Tests;

/// <summary>An in-memory registry: answers requests with a function and records what was asked (with its Authorization).</summary>
internal sealed class FakeHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
{
    public List<(string Method, string Url, string? Authorization)> Requests { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (Requests) Requests.Add((request.Method.Method, request.RequestUri!.ToString(), request.Headers.Authorization?.ToString()));
        var response = answer(request);
        response.RequestMessage = request;
        return Task.FromResult(response);
    }

    public static HttpResponseMessage Json(HttpStatusCode code, string json, string contentType = "application/json")
    {
        var r = new HttpResponseMessage(code) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)) };
        r.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return r;
    }
}

public class RegistryClientTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private RegistrySettings Settings() =>
        new(RegistryConfiguration.Empty, new CredentialStore(dir.Combine("auth.json"), []), new CertsDirectory([dir.Combine("certs.d")]));

    private const string Realm = "https://auth.example/token";

    private static HttpResponseMessage Challenge(string scope = "")
    {
        var r = FakeHandler.Json(HttpStatusCode.Unauthorized, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
        r.Headers.TryAddWithoutValidation("WWW-Authenticate", $"Bearer realm=\"{Realm}\",service=\"reg.example\"{(scope.Length > 0 ? $",scope=\"{scope}\"" : "")}");
        return r;
    }

    [Fact]
    public async Task AnonymousBearerTokenFlow()
    {
        const string manifest = """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}""";
        var fake = new FakeHandler(request =>
        {
            string url = request.RequestUri!.ToString();
            if (url.StartsWith(Realm, StringComparison.Ordinal))
            {
                Assert.Null(request.Headers.Authorization);
                Assert.Contains("service=reg.example", url);
                Assert.Contains("scope=repository%3Alib%2Fapp%3Apull", url);
                return FakeHandler.Json(HttpStatusCode.OK, """{"token":"T1","expires_in":300}""");
            }
            if (request.Headers.Authorization?.ToString() != "Bearer T1") return Challenge("repository:lib/app:pull");
            Assert.Equal("https://reg.example/v2/lib/app/manifests/1", url);
            Assert.Contains(request.Headers.Accept, a => a.MediaType == MediaTypes.OciIndex);
            Assert.Contains(request.Headers.Accept, a => a.MediaType == MediaTypes.DockerManifestList);
            Assert.Contains(request.Headers.Accept, a => a.MediaType == MediaTypes.OciManifest);
            Assert.Contains(request.Headers.Accept, a => a.MediaType == MediaTypes.DockerManifest);
            return FakeHandler.Json(HttpStatusCode.OK, manifest, MediaTypes.OciManifest);
        });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { HandlerFactory = () => fake });
        var m = await client.GetManifestAsync("lib/app", "1", default);
        Assert.Equal(MediaTypes.OciManifest, m.MediaType);
        Assert.Equal(Digest.Compute(Encoding.UTF8.GetBytes(manifest)), m.Digest);
        // The token is cached: a second request asks the token service no more.
        await client.GetManifestAsync("lib/app", "1", default);
        Assert.Single(fake.Requests, r => r.Url.StartsWith(Realm, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CredentialsGoToTheTokenServiceAsBasic()
    {
        var credential = new RegistryCredential("alice", "s3cret");
        var fake = new FakeHandler(request =>
        {
            string url = request.RequestUri!.ToString();
            if (url.StartsWith(Realm, StringComparison.Ordinal))
            {
                Assert.Equal("Basic " + credential.ToBasic(), request.Headers.Authorization?.ToString());
                Assert.Contains("account=alice", url);
                return FakeHandler.Json(HttpStatusCode.OK, """{"access_token":"T2"}""");
            }
            return request.Headers.Authorization?.ToString() == "Bearer T2" ? FakeHandler.Json(HttpStatusCode.OK, "{}") : Challenge();
        });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { Credential = credential, HandlerFactory = () => fake });
        await client.VerifyLoginAsync(default);
    }

    [Fact]
    public async Task WrongPasswordAtTheTokenServiceIsAuthenticationFailed()
    {
        var fake = new FakeHandler(request => request.RequestUri!.ToString().StartsWith(Realm, StringComparison.Ordinal)
            ? FakeHandler.Json(HttpStatusCode.Unauthorized, """{"details":"incorrect username or password"}""")
            : Challenge());
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { Credential = new("alice", "Pa55-w0rd"), HandlerFactory = () => fake });
        var e = await Assert.ThrowsAsync<EngineException>(() => client.VerifyLoginAsync(default));
        Assert.Equal("RegistryAuthenticationFailed", e.ErrorId);
        Assert.DoesNotContain("Pa55-w0rd", e.Message);
    }

    [Fact]
    public async Task BasicWithoutCredentialsIsAuthenticationRequired()
    {
        var fake = new FakeHandler(_ =>
        {
            var r = FakeHandler.Json(HttpStatusCode.Unauthorized, "{}");
            r.Headers.TryAddWithoutValidation("WWW-Authenticate", "Basic realm=\"Registry\"");
            return r;
        });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { HandlerFactory = () => fake });
        var e = await Assert.ThrowsAsync<EngineException>(() => client.GetManifestAsync("a", "1", default));
        Assert.Equal("RegistryAuthenticationRequired", e.ErrorId);
        Assert.Equal(ErrorKind.PermissionDenied, e.Kind);
    }

    [Fact]
    public async Task RedirectsKeepAuthorizationOnlyForTheSameOrigin()
    {
        var credential = new RegistryCredential("u", "p");
        byte[] blob = "layer"u8.ToArray();
        var digest = Digest.Compute(blob);
        var fake = new FakeHandler(request =>
        {
            string url = request.RequestUri!.ToString();
            if (url == "https://reg.example/v2/")
            {
                var c = FakeHandler.Json(HttpStatusCode.Unauthorized, "{}");
                c.Headers.TryAddWithoutValidation("WWW-Authenticate", "Basic realm=\"r\"");
                return c;
            }
            if (url.EndsWith("/blobs/" + digest, StringComparison.Ordinal))
                return new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri("/storage/1", UriKind.Relative) } };
            if (url == "https://reg.example/storage/1")
                return new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri("https://cdn.example/blob?sig=1") } };
            if (url == "https://cdn.example/blob?sig=1") return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(blob) };
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { Credential = credential, HandlerFactory = () => fake });
        await using (var stream = await client.OpenBlobAsync("a", digest, blob.Length, default))
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(blob, copy.ToArray());
        }
        Assert.Equal("Basic " + credential.ToBasic(), fake.Requests.Single(r => r.Url == "https://reg.example/storage/1").Authorization);
        Assert.Null(fake.Requests.Single(r => r.Url.StartsWith("https://cdn.example/", StringComparison.Ordinal)).Authorization);
    }

    [Fact]
    public async Task ATruncatedOrOversizedBlobFails()
    {
        byte[] blob = new byte[1000];
        var digest = Digest.Compute(blob);
        int served = 500;
        var fake = new FakeHandler(request => request.RequestUri!.AbsolutePath == "/v2/"
            ? new HttpResponseMessage(HttpStatusCode.OK)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(new byte[served]) });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { HandlerFactory = () => fake });
        await using (var stream = await client.OpenBlobAsync("a", digest, blob.Length, default))
        {
            var e = Assert.Throws<EngineException>(() => stream.CopyTo(Stream.Null));
            Assert.Equal("BlobTruncated", e.ErrorId);
        }
        served = 1001;
        var tooLarge = await Assert.ThrowsAsync<EngineException>(() => client.OpenBlobAsync("a", digest, blob.Length, default));
        Assert.Equal("BlobTooLarge", tooLarge.ErrorId);
    }

    [Fact]
    public async Task RegistryErrorCodesBecomeDistinctErrors()
    {
        var fake = new FakeHandler(request => request.RequestUri!.AbsolutePath switch
        {
            "/v2/" => new HttpResponseMessage(HttpStatusCode.OK),
            "/v2/gone/manifests/1" => FakeHandler.Json(HttpStatusCode.NotFound, """{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"""),
            "/v2/app/manifests/2" => FakeHandler.Json(HttpStatusCode.NotFound, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"""),
            "/v2/app/tags/list" => FakeHandler.Json(HttpStatusCode.OK, """{"name":"app","tags":["1","latest"]}"""),
            "/v2/busy/manifests/1" => FakeHandler.Json(HttpStatusCode.ServiceUnavailable, "oops", "text/plain"),
            _ => new HttpResponseMessage(HttpStatusCode.NotFound),
        });
        using var client = RegistryClient.Create("reg.example", Settings(), new RegistryClientOptions { HandlerFactory = () => fake });
        Assert.Equal("RepositoryNotFound", (await Assert.ThrowsAsync<EngineException>(() => client.GetManifestAsync("gone", "1", default))).ErrorId);
        var tag = await Assert.ThrowsAsync<EngineException>(() => client.GetManifestAsync("app", "2", default));
        Assert.Equal("TagNotFound", tag.ErrorId);
        Assert.Contains("1, latest", tag.Message);
        var busy = await Assert.ThrowsAsync<EngineException>(() => client.GetManifestAsync("busy", "1", default));
        Assert.Equal("RegistryError", busy.ErrorId);
        Assert.Equal(ErrorKind.ResourceUnavailable, busy.Kind);
    }

    [Theory]
    [InlineData(MediaTypes.DockerManifest, "{}", MediaTypes.DockerManifest)]
    [InlineData("application/json", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}""", MediaTypes.OciIndex)]
    [InlineData(null, """{"schemaVersion":2,"manifests":[]}""", MediaTypes.OciIndex)]
    [InlineData(null, """{"schemaVersion":2,"config":{},"layers":[]}""", MediaTypes.OciManifest)]
    [InlineData("application/json", """{"schemaVersion":1,"fsLayers":[]}""", "application/vnd.docker.distribution.manifest.v1+json")]
    [InlineData("application/vnd.docker.distribution.manifest.v1+prettyjws", "{}", "application/vnd.docker.distribution.manifest.v1+prettyjws")]
    public void DetectsManifestMediaTypes(string? contentType, string body, string expected) =>
        Assert.Equal(expected, RegistryClient.DetectManifestMediaType(contentType, Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void ParsesRegistryErrorBodies()
    {
        var errors = RegistryClient.ParseErrors("""{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:x"}]}"""u8.ToArray());
        Assert.Equal(("BLOB_UNKNOWN", "blob unknown to registry"), Assert.Single(errors));
        Assert.Empty(RegistryClient.ParseErrors("<html>"u8.ToArray()));
    }

    [Fact]
    public void SameOriginComparesSchemeHostAndPort()
    {
        Assert.True(RegistryClient.SameOrigin(new Uri("https://a:5000/x"), new Uri("https://A:5000/y")));
        Assert.False(RegistryClient.SameOrigin(new Uri("https://a:5000/x"), new Uri("https://a:5001/x")));
        Assert.False(RegistryClient.SameOrigin(new Uri("https://a/x"), new Uri("http://a/x")));
        Assert.False(RegistryClient.SameOrigin(new Uri("https://a/x"), new Uri("https://b/x")));
    }
}
