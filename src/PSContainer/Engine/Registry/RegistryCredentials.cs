using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PSContainer.Engine.Registry;

/// <summary>A user name and password (or access token) for a registry.</summary>
public sealed record RegistryCredential(string UserName, string Password)
{
    /// <summary>The user name docker's credential stores give an identity token (an OAuth2 refresh token) as its password.</summary>
    public const string IdentityTokenUser = "<token>";

    /// <summary>An identity token: the token service is asked with the refresh-token grant, not Basic credentials.</summary>
    public bool IsIdentityToken => UserName == IdentityTokenUser;

    public static RegistryCredential FromIdentityToken(string token) => new(IdentityTokenUser, token);

    public string ToBasic() => Convert.ToBase64String(Encoding.UTF8.GetBytes(UserName + ":" + Password));

    public override string ToString() => UserName; // never the password
}

/// <summary>
/// Registry logins, kept like docker's config.json: {"auths": {"host:port": {"auth": base64(user:pass)}}}. Ours is
/// written to $root/auth.json (mode 0600); docker's own ~/.docker/config.json (or $DOCKER_CONFIG/config.json) is
/// read as well, so a `docker login` already done is used too.
/// </summary>
public sealed class CredentialStore
{
    public const string DockerHubKey = "https://index.docker.io/v1/";

    public CredentialStore(string ownFile, IReadOnlyList<string> readOnlyFiles)
    {
        OwnFile = ownFile;
        ReadOnlyFiles = readOnlyFiles;
    }

    /// <summary>The file Connect-ContainerRegistry writes.</summary>
    public string OwnFile { get; }

    /// <summary>Other files read (docker's config.json).</summary>
    public IReadOnlyList<string> ReadOnlyFiles { get; }

    /// <summary>Docker's client config: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.</summary>
    public static string DockerConfigFile()
    {
        string? dir = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(dir))
        {
            string home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            dir = Path.Combine(home, ".docker");
        }
        return Path.Combine(dir, "config.json");
    }

    /// <summary>The auths key docker uses for a registry: docker.io is "https://index.docker.io/v1/", others host[:port].</summary>
    public static string KeyFor(string registry) => NormalizeRegistry(registry) == "docker.io" ? DockerHubKey : NormalizeRegistry(registry);

    /// <summary>
    /// A registry as written in an auths key or by a user ("https://host:5000/v1/", "index.docker.io", "host:5000")
    /// reduced to host[:port], with every Docker Hub alias as docker.io.
    /// </summary>
    public static string NormalizeRegistry(string key)
    {
        string k = key.Trim();
        int scheme = k.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) k = k[(scheme + 3)..];
        int slash = k.IndexOf('/');
        if (slash >= 0) k = k[..slash];
        k = k.ToLowerInvariant();
        return k is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" or "docker.io" ? "docker.io" : k;
    }

    /// <summary>Decodes the "auths" of a docker config.json; entries without usable credentials are left out.</summary>
    public static IReadOnlyDictionary<string, RegistryCredential> ParseAuths(byte[] json, string source)
    {
        var result = new Dictionary<string, RegistryCredential>(StringComparer.Ordinal);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new EngineException("InvalidCredentialFile", ErrorKind.InvalidData, source, $"'{source}' is not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject obj || obj["auths"] is not JsonObject auths) return result;
        foreach (var (key, value) in auths)
        {
            if (value is not JsonObject entry) continue;
            RegistryCredential? credential = null;
            if (entry["auth"] is JsonValue authValue && authValue.TryGetValue(out string? auth) && !string.IsNullOrEmpty(auth))
                credential = DecodeAuth(auth);
            if (credential is null && entry["username"] is JsonValue u && u.TryGetValue(out string? user) && entry["password"] is JsonValue p && p.TryGetValue(out string? password))
                credential = new RegistryCredential(user, password);
            if (credential is not null) result[NormalizeRegistry(key)] = credential;
        }
        return result;
    }

    /// <summary>base64("user:password") (padding optional) to a credential; null when it is not that.</summary>
    public static RegistryCredential? DecodeAuth(string auth)
    {
        string padded = auth.Trim();
        if (padded.Length % 4 != 0) padded += new string('=', 4 - padded.Length % 4);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
        string text = Encoding.UTF8.GetString(bytes);
        int colon = text.IndexOf(':');
        return colon <= 0 ? null : new RegistryCredential(text[..colon], text[(colon + 1)..]);
    }

    /// <summary>The stored login for a registry: ours first, then docker's.</summary>
    public RegistryCredential? Find(string registry)
    {
        string key = NormalizeRegistry(registry);
        foreach (string file in ReadOnlyFiles.Prepend(OwnFile))
        {
            if (!File.Exists(file)) continue;
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (ParseAuths(bytes, file).TryGetValue(key, out var credential)) return credential;
        }
        return null;
    }

    /// <summary>Whether docker's own files (not ours) hold a login for the registry.</summary>
    public bool InReadOnlyFiles(string registry)
    {
        string key = NormalizeRegistry(registry);
        return ReadOnlyFiles.Any(f => File.Exists(f) && ParseAuths(File.ReadAllBytes(f), f).ContainsKey(key));
    }

    public void Save(string registry, RegistryCredential credential) => Update(auths =>
    {
        RemoveKeys(auths, registry);
        auths[KeyFor(registry)] = new JsonObject { ["auth"] = credential.ToBasic() };
        return true;
    });

    /// <summary>Forgets our login for a registry; false when there was none.</summary>
    public bool Remove(string registry) => Update(auths => RemoveKeys(auths, registry));

    private static bool RemoveKeys(JsonObject auths, string registry)
    {
        string key = NormalizeRegistry(registry);
        var keys = auths.Select(kv => kv.Key).Where(k => NormalizeRegistry(k) == key).ToList();
        foreach (string k in keys) auths.Remove(k);
        return keys.Count > 0;
    }

    private bool Update(Func<JsonObject, bool> change)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(OwnFile))!;
        Directory.CreateDirectory(dir);
        using var fileLock = PSContainer.Native.FileLock.Acquire(OwnFile + ".lock", exclusive: true);
        JsonObject root;
        if (File.Exists(OwnFile))
        {
            try
            {
                root = JsonNode.Parse(File.ReadAllBytes(OwnFile)) as JsonObject ?? new JsonObject();
            }
            catch (JsonException e)
            {
                throw new EngineException("InvalidCredentialFile", ErrorKind.InvalidData, OwnFile, $"'{OwnFile}' is not valid JSON: {e.Message}", e);
            }
        }
        else
        {
            root = new JsonObject();
        }
        if (root["auths"] is not JsonObject auths) root["auths"] = auths = new JsonObject();
        if (!change(auths)) return false;
        byte[] content = Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        string temp = Path.Combine(dir, $".{Path.GetFileName(OwnFile)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var f = new FileStream(temp, options))
            {
                f.Write(content);
                f.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temp, OwnFile, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return true;
    }
}
