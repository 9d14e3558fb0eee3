using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Registry;

/// <summary>
/// registries.json, our registry configuration ($root/registries.json, else /etc/pscontainer/registries.json):
/// <code>
/// {
///   "insecure-registries": ["myhost:5000"],             // plain HTTP allowed, TLS not verified (docker daemon.json)
///   "registry-mirrors": ["https://mirror.example"],     // mirrors of docker.io (docker daemon.json)
///   "registries": {
///     "quay.io": { "mirrors": ["http://127.0.0.1:5001"], "insecure": false }
///   }
/// }
/// </code>
/// Mirrors are tried in order for pulls, then the registry itself; a mirror URL's scheme is used as given.
/// </summary>
public sealed class RegistryConfiguration
{
    public IReadOnlySet<string> Insecure { get; init; } = new HashSet<string>();
    public IReadOnlyDictionary<string, IReadOnlyList<Uri>> Mirrors { get; init; } = new Dictionary<string, IReadOnlyList<Uri>>();
    public string? Source { get; init; }

    public static readonly RegistryConfiguration Empty = new();

    public static RegistryConfiguration Load(string path) =>
        File.Exists(path) ? Parse(File.ReadAllBytes(path), path) : Empty;

    public static RegistryConfiguration Parse(byte[] json, string source)
    {
        var insecure = new HashSet<string>(StringComparer.Ordinal);
        var mirrors = new Dictionary<string, List<Uri>>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(source, "the document is not a JSON object");
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "insecure-registries":
                        foreach (string host in Strings(property.Value, source, property.Name)) insecure.Add(CredentialStore.NormalizeRegistry(host));
                        break;
                    case "registry-mirrors":
                        foreach (string m in Strings(property.Value, source, property.Name)) Add(mirrors, "docker.io", MirrorUri(m, source));
                        break;
                    case "registries":
                        if (property.Value.ValueKind != JsonValueKind.Object) throw Invalid(source, "\"registries\" must be an object keyed by host[:port]");
                        foreach (var registry in property.Value.EnumerateObject())
                        {
                            string host = CredentialStore.NormalizeRegistry(registry.Name);
                            if (registry.Value.ValueKind != JsonValueKind.Object) throw Invalid(source, $"\"registries\".\"{registry.Name}\" must be an object");
                            foreach (var setting in registry.Value.EnumerateObject())
                            {
                                switch (setting.Name)
                                {
                                    case "insecure":
                                        if (setting.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                                            throw Invalid(source, $"\"insecure\" of {registry.Name} must be true or false");
                                        if (setting.Value.GetBoolean()) insecure.Add(host);
                                        break;
                                    case "mirrors":
                                        foreach (string m in Strings(setting.Value, source, "mirrors")) Add(mirrors, host, MirrorUri(m, source));
                                        break;
                                    default:
                                        throw Invalid(source, $"unknown setting \"{setting.Name}\" for {registry.Name} (known: insecure, mirrors)");
                                }
                            }
                        }
                        break;
                    default:
                        throw Invalid(source, $"unknown setting \"{property.Name}\" (known: insecure-registries, registry-mirrors, registries)");
                }
            }
        }
        catch (JsonException e)
        {
            throw new EngineException("InvalidRegistryConfig", ErrorKind.InvalidData, source, $"'{source}' is not valid JSON: {e.Message}", e);
        }
        return new RegistryConfiguration
        {
            Insecure = insecure,
            Mirrors = mirrors.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Uri>)kv.Value),
            Source = source,
        };
    }

    private static void Add(Dictionary<string, List<Uri>> mirrors, string host, Uri mirror)
    {
        if (!mirrors.TryGetValue(host, out var list)) mirrors[host] = list = new List<Uri>();
        list.Add(mirror);
    }

    private static Uri MirrorUri(string text, string source)
    {
        string withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw Invalid(source, $"mirror '{text}' is not an http(s) URL");
        return new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
    }

    private static IEnumerable<string> Strings(JsonElement value, string source, string name)
    {
        if (value.ValueKind != JsonValueKind.Array) throw Invalid(source, $"\"{name}\" must be an array of strings");
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Invalid(source, $"\"{name}\" must be an array of strings");
            yield return item.GetString()!;
        }
    }

    private static EngineException Invalid(string source, string why) =>
        new("InvalidRegistryConfig", ErrorKind.InvalidData, source, $"Registry configuration '{source}' is invalid: {why}.");
}

/// <summary>
/// Per-registry TLS material in docker's certs.d layout: &lt;dir&gt;/&lt;host[:port]&gt;/*.crt are extra CA roots,
/// *.cert with the matching *.key a client certificate.
/// </summary>
public sealed class CertsDirectory
{
    public sealed record ClientCertificateFiles(string Certificate, string Key);

    public sealed record Material(IReadOnlyList<string> CaFiles, IReadOnlyList<ClientCertificateFiles> ClientCertificates)
    {
        public bool IsEmpty => CaFiles.Count == 0 && ClientCertificates.Count == 0;
    }

    public CertsDirectory(IReadOnlyList<string> roots) => Roots = roots;

    /// <summary>The certs.d directories searched, most specific first.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>The files for a registry (host[:port]), from every root that has a directory for it.</summary>
    public Material Find(string registry)
    {
        var ca = new List<string>();
        var clients = new List<ClientCertificateFiles>();
        foreach (string root in Roots)
        {
            foreach (string name in DirectoryNames(registry))
            {
                string dir = Path.Combine(root, name);
                if (!Directory.Exists(dir)) continue;
                foreach (string file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                {
                    if (file.EndsWith(".crt", StringComparison.Ordinal)) ca.Add(file);
                    else if (file.EndsWith(".cert", StringComparison.Ordinal))
                    {
                        string key = file[..^5] + ".key";
                        if (!File.Exists(key))
                            throw new EngineException("InvalidCertificate", ErrorKind.InvalidData, file, $"Client certificate '{file}' has no matching key '{key}'.");
                        clients.Add(new ClientCertificateFiles(file, key));
                    }
                    else if (file.EndsWith(".key", StringComparison.Ordinal) && !File.Exists(file[..^4] + ".cert"))
                        throw new EngineException("InvalidCertificate", ErrorKind.InvalidData, file, $"Client key '{file}' has no matching certificate '{file[..^4]}.cert'.");
                }
            }
        }
        return new Material(ca, clients);
    }

    private static IEnumerable<string> DirectoryNames(string registry)
    {
        yield return registry;
        if (registry == "docker.io")
        {
            yield return "registry-1.docker.io";
            yield return "index.docker.io";
        }
    }

    public static X509Certificate2Collection LoadCa(IEnumerable<string> files)
    {
        var collection = new X509Certificate2Collection();
        foreach (string file in files)
        {
            try
            {
                int before = collection.Count;
                collection.ImportFromPemFile(file);
                if (collection.Count == before)
                    throw new EngineException("InvalidCertificate", ErrorKind.InvalidData, file, $"CA file '{file}' holds no PEM certificate.");
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new EngineException("InvalidCertificate", ErrorKind.InvalidData, file, $"Cannot read CA certificate '{file}': {e.Message}", e);
            }
        }
        return collection;
    }

    public static X509Certificate2 LoadClient(ClientCertificateFiles files)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
            // SslStream wants a certificate whose key is not ephemeral.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new EngineException("InvalidCertificate", ErrorKind.InvalidData, files.Certificate, $"Cannot read client certificate '{files.Certificate}': {e.Message}", e);
        }
    }
}

/// <summary>How to reach one registry: its API host, whether plain HTTP is allowed, TLS material and mirrors.</summary>
public sealed class RegistryHost
{
    /// <summary>host[:port] as in image references (docker.io for Docker Hub).</summary>
    public required string Name { get; init; }
    /// <summary>Where its API is (registry-1.docker.io for docker.io).</summary>
    public required string ApiHost { get; init; }
    /// <summary>Listed as insecure: TLS is not verified and plain HTTP is allowed.</summary>
    public bool Insecure { get; init; }
    /// <summary>Plain HTTP is allowed after HTTPS fails (insecure registries and localhost, as docker does).</summary>
    public bool AllowHttp { get; init; }
    public CertsDirectory.Material Certificates { get; init; } = new([], []);
    public IReadOnlyList<Uri> Mirrors { get; init; } = [];
}

/// <summary>Everything registry access reads from the host: registries.json, logins, certs.d.</summary>
public sealed class RegistrySettings
{
    public const string SystemConfigFile = "/etc/pscontainer/registries.json";
    public const string DockerCertsDirectory = "/etc/docker/certs.d";

    public RegistrySettings(RegistryConfiguration configuration, CredentialStore credentials, CertsDirectory certs)
    {
        Configuration = configuration;
        Credentials = credentials;
        Certs = certs;
    }

    public RegistryConfiguration Configuration { get; }
    public CredentialStore Credentials { get; }
    public CertsDirectory Certs { get; }

    /// <summary>The settings for a state root: $root/registries.json (else /etc/pscontainer/registries.json), $root/auth.json
    /// plus docker's config.json, certs.d under $root and /etc/docker.</summary>
    public static RegistrySettings Load(StatePaths paths)
    {
        string own = Path.Combine(paths.Root, "registries.json");
        var configuration = RegistryConfiguration.Load(File.Exists(own) ? own : SystemConfigFile);
        return new RegistrySettings(configuration,
            new CredentialStore(Path.Combine(paths.Root, "auth.json"), [CredentialStore.DockerConfigFile()]),
            new CertsDirectory([Path.Combine(paths.Root, "certs.d"), DockerCertsDirectory]));
    }

    public RegistryHost For(string registry)
    {
        string name = CredentialStore.NormalizeRegistry(registry);
        bool insecure = Configuration.Insecure.Contains(name);
        return new RegistryHost
        {
            Name = name,
            ApiHost = name == "docker.io" ? "registry-1.docker.io" : name,
            Insecure = insecure,
            AllowHttp = insecure || IsLocalhost(name),
            Certificates = Certs.Find(name),
            Mirrors = Configuration.Mirrors.GetValueOrDefault(name) ?? [],
        };
    }

    /// <summary>localhost, 127.0.0.0/8 and ::1 (with or without a port): docker allows plain HTTP to these.</summary>
    public static bool IsLocalhost(string registry)
    {
        string host = registry;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            host = close > 0 ? host[1..close] : host;
        }
        else if (host.Count(c => c == ':') == 1)
        {
            host = host[..host.IndexOf(':')];
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }
}
