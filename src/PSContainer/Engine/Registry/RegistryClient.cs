using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using PSContainer.Engine.Oci;
using PSContainer.Native;

namespace PSContainer.Engine.Registry;

/// <summary>Tuning of a <see cref="RegistryClient"/>.</summary>
public sealed class RegistryClientOptions
{
    /// <summary>Explicit credentials (-Credential); when null the stored login for the registry is used, if any.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>How long to wait for the headers of a response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a blob download may go without receiving a byte.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>For tests: the handler that sends requests (default: a SocketsHttpHandler with our TLS checks).</summary>
    public Func<HttpMessageHandler>? HandlerFactory { get; init; }
}

/// <summary>A manifest (or index) as the registry served it: the exact bytes, its media type and digest.</summary>
public sealed record ManifestResponse(byte[] Bytes, string MediaType, Digest Digest);

/// <summary>
/// The OCI distribution protocol (Docker Registry HTTP API v2) against one registry: endpoint discovery (HTTPS,
/// plain HTTP only for insecure registries and localhost), authentication (anonymous or credentialed Bearer
/// tokens from the WWW-Authenticate challenge, Basic), manifests, blobs and uploads. Redirects are followed here,
/// and the Authorization header never goes to another host. All calls take a CancellationToken; failures are
/// EngineExceptions with distinct ids.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    public static readonly string[] ManifestAccept =
        [MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest];

    public const long MaxManifestBytes = 4 << 20;

    private readonly RegistryHost host;
    private readonly RegistryClientOptions options;
    private readonly IReadOnlyList<Uri> candidates;
    private readonly HttpClient http;
    private readonly X509Certificate2Collection extraRoots;
    private readonly SemaphoreSlim pingLock = new(1, 1);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> tokens = new(StringComparer.Ordinal);
    private IReadOnlyList<AuthChallenge> challenges = [];
    private Uri? baseUri;
    private volatile string? certificateProblem;

    private RegistryClient(RegistryHost host, IReadOnlyList<Uri> candidates, RegistryCredential? credential, RegistryClientOptions options)
    {
        this.host = host;
        this.options = options;
        this.candidates = candidates;
        Credential = credential;
        extraRoots = CertsDirectory.LoadCa(host.Certificates.CaFiles);
        HttpMessageHandler handler;
        if (options.HandlerFactory is not null)
        {
            handler = options.HandlerFactory();
        }
        else
        {
            var sockets = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = TimeSpan.FromSeconds(30),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
                UseCookies = false,
                UseProxy = true,
            };
            sockets.SslOptions.RemoteCertificateValidationCallback = ValidateCertificate;
            if (host.Certificates.ClientCertificates.Count > 0)
            {
                sockets.SslOptions.ClientCertificates = new X509CertificateCollection(
                    host.Certificates.ClientCertificates.Select(CertsDirectory.LoadClient).ToArray<X509Certificate>());
            }
            handler = sockets;
        }
        http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("PSContainer", typeof(RegistryClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>A client for a registry (host[:port], docker.io): HTTPS, then plain HTTP if the registry is insecure or localhost.</summary>
    public static RegistryClient Create(string registry, RegistrySettings settings, RegistryClientOptions? options = null)
    {
        options ??= new RegistryClientOptions();
        var host = settings.For(registry);
        var list = new List<Uri> { new("https://" + host.ApiHost + "/") };
        if (host.AllowHttp) list.Add(new Uri("http://" + host.ApiHost + "/"));
        return new RegistryClient(host, list, options.Credential ?? settings.Credentials.Find(host.Name), options);
    }

    /// <summary>A client for a mirror of a registry: the mirror's URL as configured (its scheme is used as given).</summary>
    public static RegistryClient CreateForMirror(Uri mirror, RegistrySettings settings, RegistryClientOptions? options = null)
    {
        options ??= new RegistryClientOptions();
        string authority = mirror.IsDefaultPort ? mirror.Host : mirror.Authority;
        var baseHost = settings.For(authority);
        var host = new RegistryHost
        {
            Name = baseHost.Name, ApiHost = authority, Insecure = baseHost.Insecure, AllowHttp = mirror.Scheme == "http",
            Certificates = baseHost.Certificates,
        };
        return new RegistryClient(host, [new Uri(mirror.GetLeftPart(UriPartial.Authority) + "/")], options.Credential ?? settings.Credentials.Find(host.Name), options);
    }

    /// <summary>host[:port] as in references.</summary>
    public string Registry => host.Name;

    /// <summary>The credentials in use (explicit or stored), if any.</summary>
    public RegistryCredential? Credential { get; }

    /// <summary>The base URL that answered (https://host/ or http://host/); null until the first request.</summary>
    public Uri? Endpoint => baseUri;

    public void Dispose()
    {
        http.Dispose();
        pingLock.Dispose();
    }

    public static string PullScope(string repository) => $"repository:{repository}:pull";

    public static string PushScope(string repository) => $"repository:{repository}:pull,push";

    // ---- TLS ------------------------------------------------------------------------------------------------

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        // An insecure registry is exempt from verification; a token service on another host it names is not.
        if (host.Insecure && (sender is not HttpRequestMessage request || request.RequestUri is null
                              || string.Equals(request.RequestUri.Authority, host.ApiHost, StringComparison.OrdinalIgnoreCase))) return true;
        if (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is not null && extraRoots.Count > 0)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
                foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            using var leaf = new X509Certificate2(certificate);
            if (custom.Build(leaf)) return true;
            certificateProblem = string.Join("; ", custom.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
            return false;
        }
        certificateProblem = errors switch
        {
            SslPolicyErrors.RemoteCertificateNameMismatch => $"the certificate is not for {host.ApiHost}",
            SslPolicyErrors.RemoteCertificateChainErrors => "the certificate is not signed by a trusted authority"
                + (host.Certificates.CaFiles.Count == 0 ? $" (put its CA in certs.d/{host.Name}/ca.crt)" : ""),
            _ => errors.ToString(),
        };
        return false;
    }

    // ---- sending -----------------------------------------------------------------------------------------

    /// <summary>Finds the endpoint (GET /v2/): HTTPS first, plain HTTP when allowed; records the auth challenge.</summary>
    public async Task EnsureEndpointAsync(CancellationToken cancel)
    {
        if (baseUri is not null) return;
        await pingLock.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (baseUri is not null) return;
            var failures = new List<string>();
            Exception? last = null;
            foreach (var candidate in candidates)
            {
                certificateProblem = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(candidate, "v2/"));
                    using var response = await SendOnceAsync(request, cancel).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Unauthorized) challenges = AuthChallenge.Parse(response.Headers.WwwAuthenticate.Select(h => h.ToString()));
                    baseUri = candidate;
                    return;
                }
                catch (HttpRequestException e) when (!cancel.IsCancellationRequested)
                {
                    last = e;
                    if (certificateProblem is string problem)
                        throw new EngineException("RegistryCertificateUntrusted", ErrorKind.SecurityError, host.Name,
                            $"The TLS certificate of registry {host.Name} is not trusted: {problem}.", e);
                    failures.Add($"{candidate.Scheme}: {Describe(e)}");
                }
            }
            throw new EngineException("RegistryUnavailable", ErrorKind.ResourceUnavailable, host.Name,
                $"Cannot reach registry {host.Name} ({string.Join("; ", failures)}).", last);
        }
        finally
        {
            pingLock.Release();
        }
    }

    private static string Describe(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is SocketException s) return s.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : s.Message;
            if (x is AuthenticationException a) return "TLS handshake failed: " + a.Message;
        }
        return e.Message;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new EngineException("RegistryTimeout", ErrorKind.ResourceUnavailable, host.Name,
                $"Registry {host.Name} did not answer {request.Method} {request.RequestUri?.AbsolutePath} within {options.RequestTimeout.TotalSeconds:F0} s.", e);
        }
    }

    /// <summary>Sends one request, following redirects (GET/HEAD) without carrying Authorization to another origin.</summary>
    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        var origin = request.RequestUri!;
        var current = request;
        try
        {
            for (int hops = 0; ; hops++)
            {
                var response = await SendOnceAsync(current, cancel).ConfigureAwait(false);
                int code = (int)response.StatusCode;
                bool redirect = code is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is not null
                                && (current.Method == HttpMethod.Get || current.Method == HttpMethod.Head);
                if (!redirect) return response;
                if (hops >= 10)
                {
                    response.Dispose();
                    throw new EngineException("RegistryTooManyRedirects", ErrorKind.InvalidData, host.Name, $"Registry {host.Name} redirected {origin.AbsolutePath} more than 10 times.");
                }
                var target = new Uri(current.RequestUri!, response.Headers.Location!);
                response.Dispose();
                var next = new HttpRequestMessage(current.Method, target);
                foreach (var accept in current.Headers.Accept) next.Headers.Accept.Add(accept);
                if (current.Headers.Authorization is not null && SameOrigin(origin, target)) next.Headers.Authorization = current.Headers.Authorization;
                if (!ReferenceEquals(current, request)) current.Dispose();
                current = next;
            }
        }
        finally
        {
            if (!ReferenceEquals(current, request)) current.Dispose();
        }
    }

    public static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>
    /// Sends a request to the registry with authorization for <paramref name="scopes"/>, authenticating again once on
    /// a 401. <paramref name="make"/> builds the request for a URL (it is called again for the retry, so a body
    /// stream is opened anew).
    /// </summary>
    internal async Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> make, string pathOrUrl, IReadOnlyList<string> scopes, CancellationToken cancel)
    {
        await EnsureEndpointAsync(cancel).ConfigureAwait(false);
        var url = new Uri(baseUri!, pathOrUrl);
        for (int attempt = 0; ; attempt++)
        {
            using var request = make(url);
            await AuthorizeAsync(request, scopes, refresh: attempt > 0, cancel).ConfigureAwait(false);
            HttpResponseMessage response;
            try
            {
                response = await SendFollowingRedirectsAsync(request, cancel).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (!cancel.IsCancellationRequested)
            {
                throw new EngineException("RegistryUnavailable", ErrorKind.ResourceUnavailable, host.Name,
                    $"Lost the connection to registry {host.Name} ({request.Method} {url.AbsolutePath}): {Describe(e)}.", e);
            }
            if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
            var fresh = AuthChallenge.Parse(response.Headers.WwwAuthenticate.Select(h => h.ToString()));
            bool couldRetry = attempt == 0 && fresh.Count > 0 && (fresh.Any(c => c.IsBearer) || (Credential is not null && challenges.Count == 0));
            if (!couldRetry)
            {
                var error = await ReadErrorsAsync(response, cancel).ConfigureAwait(false);
                response.Dispose();
                throw AuthError(scopes, fresh.Count > 0 ? fresh : challenges, error);
            }
            if (fresh.Count > 0) challenges = fresh;
            response.Dispose();
        }
    }

    private EngineException AuthError(IReadOnlyList<string> scopes, IReadOnlyList<AuthChallenge> seen, string? registryMessage)
    {
        string what = scopes.Count > 0 ? string.Join(", ", scopes.Select(s => s.Split(':').Skip(1).FirstOrDefault() ?? s).Distinct()) : host.Name;
        string detail = registryMessage is null ? "" : $" ({registryMessage})";
        if (Credential is null)
            return new EngineException("RegistryAuthenticationRequired", ErrorKind.PermissionDenied, host.Name,
                $"Registry {host.Name} requires authentication for {what}{detail}; log in with Connect-ContainerRegistry or pass -Credential.");
        if (seen.Any(c => c.Error == "insufficient_scope"))
            return new EngineException("RegistryAccessDenied", ErrorKind.PermissionDenied, host.Name,
                $"Registry {host.Name} denies {Credential.UserName} access to {what}{detail}.");
        return new EngineException("RegistryAuthenticationFailed", ErrorKind.PermissionDenied, host.Name,
            $"Registry {host.Name} rejected the credentials of {Credential.UserName}{detail}: wrong user name or password?");
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, IReadOnlyList<string> scopes, bool refresh, CancellationToken cancel)
    {
        var current = challenges;
        var bearer = current.FirstOrDefault(c => c.IsBearer && c.Realm is not null);
        if (bearer is not null)
        {
            var wanted = scopes.ToList();
            if (bearer.Scope is { Length: > 0 } asked)
                foreach (string s in asked.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (!wanted.Contains(s)) wanted.Add(s);
            string token = await GetTokenAsync(bearer, wanted, refresh, cancel).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return;
        }
        if (Credential is { IsIdentityToken: false } && current.Any(c => c.IsBasic))
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Credential.ToBasic());
    }

    private sealed class TokenResponse
    {
        [System.Text.Json.Serialization.JsonPropertyName("token")] public string? Token { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("access_token")] public string? AccessToken { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("expires_in")] public int? ExpiresIn { get; set; }
    }

    private HttpRequestMessage TokenRequest(Uri realm, AuthChallenge bearer, IReadOnlyList<string> scopes)
    {
        var query = new List<string>();
        if (bearer.Service is { Length: > 0 } service) query.Add("service=" + Uri.EscapeDataString(service));
        foreach (string scope in scopes) query.Add("scope=" + Uri.EscapeDataString(scope));
        if (Credential is not null) query.Add("account=" + Uri.EscapeDataString(Credential.UserName));
        var builder = new UriBuilder(realm);
        string existing = builder.Query.TrimStart('?');
        builder.Query = string.Join('&', (existing.Length > 0 ? new[] { existing } : []).Concat(query));
        var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        if (Credential is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Credential.ToBasic());
        return request;
    }

    /// <summary>An identity token (docker login's IdentityToken) is an OAuth2 refresh token: POSTed to the realm as a
    /// refresh_token grant, as docker does, never sent as Basic credentials.</summary>
    private static HttpRequestMessage RefreshTokenRequest(Uri realm, AuthChallenge bearer, IReadOnlyList<string> scopes, string refreshToken)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "refresh_token"), new("refresh_token", refreshToken), new("client_id", "docker") };
        if (bearer.Service is { Length: > 0 } service) form.Add(new("service", service));
        if (scopes.Count > 0) form.Add(new("scope", string.Join(' ', scopes)));
        return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
    }

    /// <summary>The Bearer token flow: GET realm?service=…&amp;scope=… (with Basic credentials when we have them), or
    /// with an identity token the refresh-token grant.</summary>
    private async Task<string> GetTokenAsync(AuthChallenge bearer, IReadOnlyList<string> scopes, bool refresh, CancellationToken cancel)
    {
        string key = bearer.Realm + " " + bearer.Service + " " + string.Join(' ', scopes.Order(StringComparer.Ordinal));
        if (!refresh && tokens.TryGetValue(key, out var cached) && cached.Expires > DateTimeOffset.UtcNow) return cached.Token;
        if (!Uri.TryCreate(bearer.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("http" or "https"))
            throw new EngineException("RegistryInvalidChallenge", ErrorKind.InvalidData, host.Name, $"Registry {host.Name} named an invalid token realm '{bearer.Realm}'.");
        // Credentials go to the realm in Basic form: never in clear text to a realm an HTTPS registry (or anyone
        // between us and a plain-HTTP one) points elsewhere, unless the realm is this very host or the loopback.
        bool realmIsRegistry = string.Equals(realm.Authority, host.ApiHost, StringComparison.OrdinalIgnoreCase);
        if (realm.Scheme == "http" && !realm.IsLoopback && !realmIsRegistry)
            throw new EngineException("RegistryInsecureRealm", ErrorKind.SecurityError, host.Name,
                $"Registry {host.Name} sent us to a token service over plain HTTP ({realm.Scheme}://{realm.Authority}); refusing to send credentials there.");
        using var request = Credential is { IsIdentityToken: true } ? RefreshTokenRequest(realm, bearer, scopes, Credential.Password) : TokenRequest(realm, bearer, scopes);
        HttpResponseMessage response;
        try
        {
            response = await SendOnceAsync(request, cancel).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (!cancel.IsCancellationRequested)
        {
            throw new EngineException("RegistryUnavailable", ErrorKind.ResourceUnavailable, host.Name,
                $"Cannot reach the token service {realm.GetLeftPart(UriPartial.Path)} of registry {host.Name}: {Describe(e)}.", e);
        }
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                string? message = await ReadErrorsAsync(response, cancel).ConfigureAwait(false);
                throw AuthError(scopes, [], message);
            }
            if (!response.IsSuccessStatusCode)
                throw new EngineException("RegistryError", ErrorKind.ResourceUnavailable, host.Name,
                    $"The token service of registry {host.Name} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            byte[] body = await ReadLimitedAsync(response, 1 << 20, cancel).ConfigureAwait(false);
            TokenResponse? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize<TokenResponse>(body);
            }
            catch (JsonException e)
            {
                throw new EngineException("RegistryInvalidToken", ErrorKind.InvalidData, host.Name, $"The token service of registry {host.Name} sent invalid JSON: {e.Message}", e);
            }
            string token = parsed?.Token is { Length: > 0 } t ? t : parsed?.AccessToken is { Length: > 0 } a ? a
                : throw new EngineException("RegistryInvalidToken", ErrorKind.InvalidData, host.Name, $"The token service of registry {host.Name} sent no token.");
            int lifetime = parsed!.ExpiresIn is int s && s > 0 ? s : 60;
            tokens[key] = (token, DateTimeOffset.UtcNow.AddSeconds(Math.Max(1, lifetime - 10)));
            return token;
        }
    }

    // ---- errors ---------------------------------------------------------------------------------------------

    /// <summary>The registry's error codes and messages from an error body ({"errors":[{"code","message"}]}).</summary>
    public static IReadOnlyList<(string Code, string Message)> ParseErrors(byte[] body)
    {
        var result = new List<(string, string)>();
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in errors.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.Object) continue;
                    string code = e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
                    string message = e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
                    result.Add((code, message));
                }
            }
        }
        catch (JsonException)
        {
            // not a registry error document
        }
        return result;
    }

    private static async Task<string?> ReadErrorsAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        try
        {
            byte[] body = await ReadLimitedAsync(response, 64 << 10, cancel).ConfigureAwait(false);
            var errors = ParseErrors(body);
            return errors.Count == 0 ? null : string.Join("; ", errors.Select(e => e.Message.Length > 0 ? e.Message : e.Code));
        }
        catch (Exception e) when (e is EngineException or IOException or HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Turns an unexpected response into an EngineException; 404s become <paramref name="notFoundId"/>.</summary>
    private async Task<EngineException> ErrorAsync(HttpResponseMessage response, string what, string notFoundId, object target, CancellationToken cancel)
    {
        byte[] body;
        try
        {
            body = await ReadLimitedAsync(response, 64 << 10, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EngineException or IOException or HttpRequestException)
        {
            body = [];
        }
        var errors = ParseErrors(body);
        string codes = string.Join(", ", errors.Select(e => e.Code));
        string message = errors.Count > 0 ? string.Join("; ", errors.Select(e => e.Message)) : $"{(int)response.StatusCode} {response.ReasonPhrase}";
        if (errors.Any(e => e.Code == "NAME_UNKNOWN"))
            return new EngineException("RepositoryNotFound", ErrorKind.ObjectNotFound, target, $"Repository {what} does not exist on {host.Name}: {message}.");
        if (errors.Any(e => e.Code is "DENIED" or "UNAUTHORIZED") || response.StatusCode == HttpStatusCode.Forbidden)
            return new EngineException("RegistryAccessDenied", ErrorKind.PermissionDenied, target, $"Registry {host.Name} denies access to {what}: {message}.");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return new EngineException(notFoundId, ErrorKind.ObjectNotFound, target, $"{what} is not on {host.Name}: {message}.");
        if (errors.Any(e => e.Code == "TOOMANYREQUESTS") || (int)response.StatusCode == 429)
            return new EngineException("RegistryRateLimited", ErrorKind.ResourceUnavailable, target, $"Registry {host.Name} refuses more requests for now (429): {message}.");
        if ((int)response.StatusCode >= 500)
            return new EngineException("RegistryError", ErrorKind.ResourceUnavailable, target, $"Registry {host.Name} failed on {what}: {message}.");
        return new EngineException("RegistryError", ErrorKind.InvalidOperation, target,
            $"Registry {host.Name} refused {what}: {message}{(codes.Length > 0 && !message.Contains(codes, StringComparison.Ordinal) ? $" ({codes})" : "")}.");
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, long max, CancellationToken cancel)
    {
        if (response.Content.Headers.ContentLength is long declared && declared > max)
            throw new EngineException("RegistryResponseTooLarge", ErrorKind.InvalidData, response.RequestMessage?.RequestUri?.ToString(),
                $"The registry's response is {declared} bytes, more than the {max} allowed.");
        await using var stream = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > max)
                throw new EngineException("RegistryResponseTooLarge", ErrorKind.InvalidData, response.RequestMessage?.RequestUri?.ToString(),
                    $"The registry's response is more than the {max} bytes allowed.");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    // ---- manifests ------------------------------------------------------------------------------------------

    /// <summary>GET /v2/&lt;repository&gt;/manifests/&lt;tag or digest&gt; with every manifest and index media type accepted.</summary>
    public async Task<ManifestResponse> GetManifestAsync(string repository, string reference, CancellationToken cancel)
    {
        using var response = await SendAsync(url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            foreach (string type in ManifestAccept) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            return request;
        }, $"v2/{repository}/manifests/{reference}", [PullScope(repository)], cancel).ConfigureAwait(false);
        bool byDigest = reference.Contains(':');
        string what = $"{host.Name}/{repository}{(byDigest ? "@" : ":")}{reference}";
        if (!response.IsSuccessStatusCode)
        {
            var error = await ErrorAsync(response, what, byDigest ? "DigestNotFound" : "TagNotFound", what, cancel).ConfigureAwait(false);
            if (error.ErrorId is "TagNotFound" or "DigestNotFound")
                error = await ExplainMissingManifestAsync(repository, reference, byDigest, what, error, cancel).ConfigureAwait(false);
            throw error;
        }
        byte[] bytes = await ReadLimitedAsync(response, MaxManifestBytes, cancel).ConfigureAwait(false);
        string mediaType = DetectManifestMediaType(response.Content.Headers.ContentType?.MediaType, bytes);
        return new ManifestResponse(bytes, mediaType, Digest.Compute(bytes));
    }

    /// <summary>A missing manifest: distinguishes an unknown repository (its tag list is NAME_UNKNOWN) from an unknown tag.</summary>
    private async Task<EngineException> ExplainMissingManifestAsync(string repository, string reference, bool byDigest, string what, EngineException original, CancellationToken cancel)
    {
        try
        {
            using var response = await SendAsync(url => new HttpRequestMessage(HttpMethod.Get, url), $"v2/{repository}/tags/list", [PullScope(repository)], cancel).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                byte[] body = await ReadLimitedAsync(response, 1 << 20, cancel).ConfigureAwait(false);
                using var doc = JsonDocument.Parse(body);
                var tags = doc.RootElement.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
                    ? t.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : [];
                if (tags.Count == 0)
                    return new EngineException("RepositoryNotFound", ErrorKind.ObjectNotFound, what, $"Repository {host.Name}/{repository} does not exist (it has no tags).");
                if (byDigest) return new EngineException("DigestNotFound", ErrorKind.ObjectNotFound, what, $"{host.Name}/{repository} has no manifest {reference}.");
                string shown = string.Join(", ", tags.Take(20)) + (tags.Count > 20 ? $", … ({tags.Count} tags)" : "");
                return new EngineException("TagNotFound", ErrorKind.ObjectNotFound, what, $"{host.Name}/{repository} has no tag '{reference}' (it has {shown}).");
            }
            var listError = await ErrorAsync(response, $"{host.Name}/{repository}", "RepositoryNotFound", what, cancel).ConfigureAwait(false);
            return listError.ErrorId == "RepositoryNotFound"
                ? new EngineException("RepositoryNotFound", ErrorKind.ObjectNotFound, what, $"Repository {host.Name}/{repository} does not exist.")
                : original;
        }
        catch (Exception e) when (e is EngineException or JsonException)
        {
            return original;
        }
    }

    /// <summary>The media type of a manifest: the Content-Type, else the document's own mediaType, else its shape.</summary>
    public static string DetectManifestMediaType(string? contentType, byte[] bytes)
    {
        string? declared = null, shape = null;
        int schemaVersion = 0;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String) declared = m.GetString();
                if (root.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.Number) schemaVersion = v.GetInt32();
                if (root.TryGetProperty("manifests", out _)) shape = MediaTypes.OciIndex;
                else if (root.TryGetProperty("config", out _) && root.TryGetProperty("layers", out _)) shape = MediaTypes.OciManifest;
                else if (root.TryGetProperty("fsLayers", out _)) shape = "application/vnd.docker.distribution.manifest.v1+json";
            }
        }
        catch (JsonException)
        {
            // reported by whoever parses it
        }
        if (contentType is { Length: > 0 } ct && ct is not ("application/json" or "text/plain" or "application/octet-stream")) return ct;
        if (declared is { Length: > 0 }) return declared;
        if (schemaVersion == 1) return "application/vnd.docker.distribution.manifest.v1+json";
        return shape ?? contentType ?? "application/octet-stream";
    }

    /// <summary>PUT /v2/&lt;repository&gt;/manifests/&lt;reference&gt;; returns the digest the registry reports (or ours).</summary>
    public async Task<Digest> PutManifestAsync(string repository, string reference, byte[] bytes, string mediaType, CancellationToken cancel)
    {
        using var response = await SendAsync(url =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        }, $"v2/{repository}/manifests/{reference}", [PushScope(repository)], cancel).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, $"manifest {host.Name}/{repository}:{reference}", "RepositoryNotFound", reference, cancel).ConfigureAwait(false);
        var ours = Digest.Compute(bytes);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var theirs) && theirs != ours)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, reference, $"Registry {host.Name} stored the manifest as {theirs}, but it is {ours}.");
        return ours;
    }

    // ---- blobs ------------------------------------------------------------------------------------------------

    /// <summary>HEAD /v2/&lt;repository&gt;/blobs/&lt;digest&gt;: whether the registry has the blob in that repository.</summary>
    public async Task<bool> BlobExistsAsync(string repository, Digest digest, IReadOnlyList<string> scopes, CancellationToken cancel)
    {
        using var response = await SendAsync(url => new HttpRequestMessage(HttpMethod.Head, url), $"v2/{repository}/blobs/{digest}", scopes, cancel).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return true;
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        throw await ErrorAsync(response, $"blob {digest}", "BlobNotFound", digest.ToString(), cancel).ConfigureAwait(false);
    }

    /// <summary>GET a small blob (a config) into memory, verifying its size and digest.</summary>
    public async Task<byte[]> GetSmallBlobAsync(string repository, Digest digest, long declaredSize, long max, CancellationToken cancel)
    {
        if (declaredSize > max)
            throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} declares {declaredSize} bytes, more than the {max} allowed for a document.");
        await using var stream = await OpenBlobAsync(repository, digest, declaredSize > 0 ? declaredSize : null, cancel).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[65536];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > Math.Max(max, declaredSize))
                throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} is larger than the {declaredSize} bytes its descriptor declares.");
            buffer.Write(chunk, 0, n);
        }
        byte[] bytes = buffer.ToArray();
        var actual = Digest.Compute(bytes);
        if (actual != digest)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, digest.ToString(), $"Blob {digest} from {host.Name} does not match its digest (got {actual}).");
        return bytes;
    }

    /// <summary>
    /// GET /v2/&lt;repository&gt;/blobs/&lt;digest&gt; as a stream read straight from the connection (never buffered whole).
    /// The stream fails with BlobTruncated when the connection ends before <paramref name="expectedSize"/> bytes,
    /// with BlobTooLarge when the registry announces more, and with RegistryTimeout when no byte arrives for the
    /// read timeout.
    /// </summary>
    public async Task<Stream> OpenBlobAsync(string repository, Digest digest, long? expectedSize, CancellationToken cancel, Action? onFailure = null)
    {
        var response = await SendAsync(url => new HttpRequestMessage(HttpMethod.Get, url), $"v2/{repository}/blobs/{digest}", [PullScope(repository)], cancel).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode)
                throw await ErrorAsync(response, $"blob {digest} of {host.Name}/{repository}", "BlobNotFound", digest.ToString(), cancel).ConfigureAwait(false);
            if (expectedSize is long size && response.Content.Headers.ContentLength is long announced && announced > size)
                throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, digest.ToString(),
                    $"Registry {host.Name} sends {announced} bytes for blob {digest}; its descriptor declares {size}.");
            var inner = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
            return new RegistryBlobStream(response, inner, digest, expectedSize, host.Name, options.ReadTimeout, cancel, onFailure);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    // ---- uploads ------------------------------------------------------------------------------------------------

    /// <summary>What POST /v2/&lt;repository&gt;/blobs/uploads/ gave: the blob was mounted, or an upload session URL.</summary>
    public sealed record UploadStart(bool Mounted, Uri? Location);

    /// <summary>Starts an upload; with <paramref name="mountFrom"/>, asks for a cross-repository mount first (201 = done).</summary>
    public async Task<UploadStart> StartUploadAsync(string repository, Digest? mount, string? mountFrom, CancellationToken cancel)
    {
        string path = $"v2/{repository}/blobs/uploads/";
        var scopes = new List<string> { PushScope(repository) };
        if (mount is not null && mountFrom is not null)
        {
            path += $"?mount={Uri.EscapeDataString(mount.Value.ToString())}&from={Uri.EscapeDataString(mountFrom)}";
            scopes.Add(PullScope(mountFrom));
        }
        using var response = await SendAsync(url => new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent([]) }, path, scopes, cancel).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created && mount is not null) return new UploadStart(true, null);
        if (response.StatusCode != HttpStatusCode.Accepted || response.Headers.Location is null)
            throw await ErrorAsync(response, $"an upload to {host.Name}/{repository}", "RepositoryNotFound", repository, cancel).ConfigureAwait(false);
        return new UploadStart(false, new Uri(new Uri(baseUri!, path), response.Headers.Location));
    }

    private static string WithDigest(Uri location, Digest digest) =>
        location.AbsoluteUri + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString());

    /// <summary>Monolithic upload: PUT &lt;location&gt;?digest=… with the whole blob as the body.</summary>
    public async Task UploadMonolithicAsync(string repository, Uri location, Digest digest, long size, Func<Stream> open, CancellationToken cancel)
    {
        using var response = await SendAsync(url =>
        {
            var content = new StreamContent(open(), 1 << 17);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = size;
            return new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        }, WithDigest(location, digest), [PushScope(repository)], cancel).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
            throw await ErrorAsync(response, $"the upload of {digest}", "BlobUploadUnknown", digest.ToString(), cancel).ConfigureAwait(false);
    }

    /// <summary>Chunked upload: PATCH &lt;location&gt; with Content-Range for each chunk, then PUT ?digest=… without a body.</summary>
    public async Task UploadChunkedAsync(string repository, Uri location, Digest digest, long size, long chunkSize, Func<long, long, Stream> openRange, CancellationToken cancel)
    {
        long offset = 0;
        while (offset < size)
        {
            long length = Math.Min(chunkSize, size - offset);
            long start = offset;
            using var response = await SendAsync(url =>
            {
                var content = new StreamContent(openRange(start, length), 1 << 17);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentLength = length;
                var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = content };
                request.Content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + length - 1}");
                return request;
            }, location.AbsoluteUri, [PushScope(repository)], cancel).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw await ErrorAsync(response, $"a chunk of {digest}", "BlobUploadUnknown", digest.ToString(), cancel).ConfigureAwait(false);
            if (response.Headers.Location is not null) location = new Uri(location, response.Headers.Location);
            offset += length;
        }
        using var done = await SendAsync(url => new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent([]) },
            WithDigest(location, digest), [PushScope(repository)], cancel).ConfigureAwait(false);
        if (done.StatusCode != HttpStatusCode.Created)
            throw await ErrorAsync(done, $"the upload of {digest}", "BlobUploadUnknown", digest.ToString(), cancel).ConfigureAwait(false);
    }

    /// <summary>GET /v2/ with these credentials (docker login): succeeds when the registry accepts them.</summary>
    public async Task VerifyLoginAsync(CancellationToken cancel)
    {
        await EnsureEndpointAsync(cancel).ConfigureAwait(false);
        using var response = await SendAsync(url => new HttpRequestMessage(HttpMethod.Get, url), "v2/", [], cancel).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, "/v2/", "RegistryNotV2", host.Name, cancel).ConfigureAwait(false);
    }
}

/// <summary>A blob download read from the connection: detects truncation, idle connections and cancellation.</summary>
internal sealed class RegistryBlobStream : ReadOnlyStream
{
    private readonly HttpResponseMessage response;
    private readonly Stream inner;
    private readonly Digest digest;
    private readonly long? expected;
    private readonly string registry;
    private readonly TimeSpan readTimeout;
    private readonly CancellationToken cancel;
    private readonly Action? onFailure;
    private readonly CancellationTokenSource idle;
    private readonly CancellationTokenRegistration abort;
    private long read;
    private bool ended;

    public RegistryBlobStream(HttpResponseMessage response, Stream inner, Digest digest, long? expected, string registry, TimeSpan readTimeout, CancellationToken cancel, Action? onFailure)
    {
        this.response = response;
        this.inner = inner;
        this.digest = digest;
        this.expected = expected;
        this.registry = registry;
        this.readTimeout = readTimeout;
        this.cancel = cancel;
        this.onFailure = onFailure;
        idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // A blocked synchronous read ends when the response is disposed: on Ctrl+C and when the connection idles.
        abort = idle.Token.Register(() => response.Dispose());
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (ended || buffer.Length == 0) return 0;
        cancel.ThrowIfCancellationRequested();
        int n;
        try
        {
            idle.CancelAfter(readTimeout);
            n = inner.Read(buffer);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
        {
            throw Failed(e);
        }
        return Account(n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (ended || buffer.Length == 0) return 0;
        cancel.ThrowIfCancellationRequested();
        int n;
        try
        {
            idle.CancelAfter(readTimeout);
            n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
        {
            throw Failed(e);
        }
        return Account(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Account(int n)
    {
        if (n == 0)
        {
            ended = true;
            if (expected is long size && read < size)
            {
                onFailure?.Invoke();
                throw new EngineException("BlobTruncated", ErrorKind.ReadError, digest.ToString(),
                    $"The download of {digest} from {registry} ended after {read} of {size} bytes.");
            }
            return 0;
        }
        read += n;
        return n;
    }

    private Exception Failed(Exception e)
    {
        if (cancel.IsCancellationRequested) return new OperationCanceledException(cancel);
        // Before onFailure: that cancels the token the idle timer is linked to.
        bool timedOut = idle.IsCancellationRequested;
        onFailure?.Invoke();
        if (timedOut)
            return new EngineException("RegistryTimeout", ErrorKind.ResourceUnavailable, digest.ToString(),
                $"The download of {digest} from {registry} received nothing for {readTimeout.TotalSeconds:F0} s (after {read} bytes).", e);
        return new EngineException("BlobTruncated", ErrorKind.ReadError, digest.ToString(),
            $"The download of {digest} from {registry} broke off after {read}{(expected is long s ? $" of {s}" : "")} bytes: {e.Message}", e);
    }

    public override long Position { get => read; set => throw new NotSupportedException(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            abort.Dispose();
            idle.Dispose();
            inner.Dispose();
            response.Dispose();
        }
        base.Dispose(disposing);
    }
}
