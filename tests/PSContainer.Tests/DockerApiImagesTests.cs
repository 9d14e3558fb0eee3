using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using PSContainer.Api;
using PSContainer.Engine;
using PSContainer.Engine.Registry;
using PSContainer.Engine.Service;
using PSContainer.Engine.Services;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The pure parts of psc-api's image and service work: X-Registry-Auth and /auth bodies, the TCP/TLS options
/// (plain TCP refused), and the systemd unit psc-api runs under.</summary>
public sealed class DockerApiImagesTests
{
    private static string Base64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static PSContainer.Engine.Registry.RegistryCredential? FromHeader(string? value)
    {
        var context = new DefaultHttpContext();
        if (value is not null) context.Request.Headers[RegistryAuth.Header] = value;
        return RegistryAuth.FromHeader(context.Request);
    }

    [Fact]
    public void ReadsTheCredentialsDockerSendsInXRegistryAuth()
    {
        var c = FromHeader(Base64Url("{\"username\":\"alice\",\"password\":\"c0rrect+horse/?\",\"serveraddress\":\"127.0.0.1:5000\"}"));
        Assert.Equal("alice", c!.UserName);
        Assert.Equal("c0rrect+horse/?", c.Password);
        // Standard base64 with padding (older clients) reads the same.
        var padded = FromHeader(Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"username\":\"bob\",\"password\":\"pw\"}")));
        Assert.Equal("bob", padded!.UserName);
        var auth = FromHeader(Base64Url("{\"auth\":\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes("carol:secret")) + "\"}"));
        Assert.Equal(("carol", "secret"), (auth!.UserName, auth.Password));
        var token = FromHeader(Base64Url("{\"identitytoken\":\"tok\"}"));
        Assert.True(token!.IsIdentityToken);
        Assert.Equal("tok", token.Password);
    }

    [Fact]
    public async Task AnIdentityTokenIsAskedForWithTheRefreshTokenGrantNotAsBasic()
    {
        using var dir = new TempDir();
        var settings = new RegistrySettings(RegistryConfiguration.Empty, new CredentialStore(dir.Combine("auth.json"), []), new CertsDirectory([dir.Combine("certs.d")]));
        const string realm = "https://auth.example/token";
        string? form = null;
        var fake = new FakeHandler(request =>
        {
            if (request.RequestUri!.ToString().StartsWith(realm, StringComparison.Ordinal))
            {
                Assert.Equal(HttpMethod.Post, request.Method);
                Assert.Null(request.Headers.Authorization);
                form = request.Content!.ReadAsStringAsync().GetAwaiter().GetResult();
                return FakeHandler.Json(HttpStatusCode.OK, """{"access_token":"T3"}""");
            }
            if (request.Headers.Authorization?.ToString() == "Bearer T3") return FakeHandler.Json(HttpStatusCode.OK, "{}");
            var challenge = FakeHandler.Json(HttpStatusCode.Unauthorized, "{}");
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", $"Bearer realm=\"{realm}\",service=\"reg.example\"");
            return challenge;
        });
        using var client = RegistryClient.Create("reg.example", settings,
            new RegistryClientOptions { Credential = RegistryCredential.FromIdentityToken("refresh-me"), HandlerFactory = () => fake });
        await client.VerifyLoginAsync(default);
        Assert.Contains("grant_type=refresh_token", form, StringComparison.Ordinal);
        Assert.Contains("refresh_token=refresh-me", form, StringComparison.Ordinal);
        Assert.Contains("service=reg.example", form, StringComparison.Ordinal);
        Assert.Contains("client_id=docker", form, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("e30")] // {}
    [InlineData("eyJ1c2VybmFtZSI6IiJ9")] // {"username":""}
    public void NoCredentialsWhenTheHeaderHasNone(string? header) => Assert.Null(FromHeader(header));

    [Theory]
    [InlineData("not base64 !")]
    [InlineData("bm90IGpzb24")] // "not json"
    public void RefusesAHeaderThatIsNotBase64Json(string header)
    {
        var e = Assert.Throws<ApiException>(() => FromHeader(header));
        Assert.Equal(400, e.Status);
        Assert.Contains("X-Registry-Auth", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadsTheServerAddressOfALogin()
    {
        var c = RegistryAuth.FromJson("{\"username\":\"alice\",\"password\":\"pw\",\"serveraddress\":\"127.0.0.1:5000\"}"u8.ToArray(), "the login", out string? server);
        Assert.Equal("alice", c!.UserName);
        Assert.Equal("127.0.0.1:5000", server);
    }

    [Fact]
    public void ServesTcpOnlyWithMutualTls()
    {
        var o = ServiceOptions.Parse(["--socket", "/tmp/x.sock", "--tcp", "tcp://127.0.0.1:2376", "--tlscert", "/c.pem", "--tlskey", "/k.pem", "--tlscacert", "/ca.pem"]);
        Assert.Equal("127.0.0.1:2376", o.Tcp!.Endpoint.ToString());
        Assert.Equal(("/c.pem", "/k.pem", "/ca.pem"), (o.Tcp.CertificateFile, o.Tcp.KeyFile, o.Tcp.ClientCaFile));
        Assert.Equal("[::1]:2376", ServiceOptions.Parse(["--tcp", "[::1]:2376", "--tlscert", "c", "--tlskey", "k", "--tlscacert", "ca"]).Tcp!.Endpoint.ToString());
        Assert.Null(ServiceOptions.Parse(["--socket", "/tmp/x.sock"]).Tcp);

        var plain = Assert.Throws<ArgumentException>(() => ServiceOptions.Parse(["--tcp", "127.0.0.1:2376"]));
        Assert.Contains("mutual TLS only", plain.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ServiceOptions.Parse(["--tcp", "127.0.0.1:2376", "--tlscert", "c", "--tlskey", "k"]));
        Assert.Throws<ArgumentException>(() => ServiceOptions.Parse(["--tlscert", "c", "--tlskey", "k", "--tlscacert", "ca"]));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost:2376")]
    [InlineData("::1:2376")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:99999")]
    public void RefusesATcpAddressThatIsNotAddressAndPort(string address) =>
        Assert.Throws<ArgumentException>(() => ServiceOptions.TcpEndpoint(address));

    [Fact]
    public void ApiTcpSettingsAreAllOrNone()
    {
        Assert.Null(ApiTcpSettings.From(null, null, null, null));
        var e = Assert.Throws<EngineException>(() => ApiTcpSettings.From("127.0.0.1:2376", null, null, null));
        Assert.Equal("ApiTcpNeedsMutualTls", e.ErrorId);
        Assert.Equal("ApiTcpNeedsMutualTls", Assert.Throws<EngineException>(() => ApiTcpSettings.From(null, "/c", "/k", "/ca")).ErrorId);
        Assert.Equal("ApiTlsFileNotFound", Assert.Throws<EngineException>(() => ApiTcpSettings.From("127.0.0.1:2376", "/nonexistent/c", "/nonexistent/k", "/nonexistent/ca")).ErrorId);
    }

    [Fact]
    public void TheUnitRunsPscApiWithItsOptionsQuotedForSystemd()
    {
        var options = new ApiServiceUnitOptions("/var/lib/my root", "/run/pscontainer", "/run/pscontainer/docker.sock")
        {
            Group = "docker",
            Tcp = new ApiTcpSettings("127.0.0.1:2376", "/etc/t/c.pem", "/etc/t/k.pem", "/etc/t/ca.pem"),
        };
        string text = ApiServiceUnit.UnitText(options, "/opt/psc/psc-api", "/usr/share/dotnet");
        Assert.Contains("ExecStart=/opt/psc/psc-api --socket /run/pscontainer/docker.sock --root \"/var/lib/my root\" --runroot /run/pscontainer --group docker "
                        + "--tcp 127.0.0.1:2376 --tlscert /etc/t/c.pem --tlskey /etc/t/k.pem --tlscacert /etc/t/ca.pem\n", text, StringComparison.Ordinal);
        Assert.Contains("\nEnvironment=DOTNET_ROOT=/usr/share/dotnet\n", text, StringComparison.Ordinal);
        Assert.Contains("\nType=simple\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("--log", text, StringComparison.Ordinal); // no log file: the journal
        Assert.Equal("pscontainer-api.service", ApiServiceUnit.UnitName("/var/lib/pscontainer"));
        Assert.Matches("^pscontainer-api-[0-9a-f]{12}\\.service$", ApiServiceUnit.UnitName("/var/lib/my root"));
    }
}
