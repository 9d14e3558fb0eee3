using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Registry;

namespace PSContainer.Api;

/// <summary>
/// docker's AuthConfig as clients send it: X-Registry-Auth on pull and push (base64url of the JSON, padding optional;
/// older clients use standard base64) and the body of POST /auth. {username, password} or {auth: base64(user:pass)};
/// an {identitytoken} becomes an identity-token credential (the engine asks the token service with the OAuth2
/// refresh-token grant, as docker does). An empty header or "{}" means no credentials (the engine then uses its stored login, if any).
/// </summary>
public static class RegistryAuth
{
    public const string Header = "X-Registry-Auth";

    /// <summary>The credentials in the request's X-Registry-Auth header; null when it has none.</summary>
    public static RegistryCredential? FromHeader(HttpRequest request)
    {
        string? header = request.Headers[Header];
        if (string.IsNullOrWhiteSpace(header)) return null;
        byte[] json;
        try
        {
            string b64 = header.Trim().Replace('-', '+').Replace('_', '/');
            if (b64.Length % 4 != 0) b64 += new string('=', 4 - b64.Length % 4);
            json = Convert.FromBase64String(b64);
        }
        catch (FormatException)
        {
            throw ApiException.BadParameter($"{Header} is not base64url-encoded JSON");
        }
        return FromJson(json, Header, out _);
    }

    /// <summary>An AuthConfig document; <paramref name="serverAddress"/> is its serveraddress, when given.</summary>
    public static RegistryCredential? FromJson(byte[] json, string what, out string? serverAddress)
    {
        serverAddress = null;
        JsonObject? o;
        try
        {
            o = json.Length == 0 ? null : JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException e)
        {
            throw ApiException.BadParameter($"{what} is not valid JSON: {e.Message}");
        }
        if (o is null) return null;
        string? Text(string name) => o.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value is JsonValue v
                                     && v.TryGetValue(out string? s) && s.Length > 0 ? s : null;
        serverAddress = Text("serveraddress");
        if (Text("identitytoken") is { } token) return RegistryCredential.FromIdentityToken(token);
        if (Text("username") is { } user) return new RegistryCredential(user, Text("password") ?? "");
        if (Text("auth") is { } auth)
            return CredentialStore.DecodeAuth(auth) ?? throw ApiException.BadParameter($"{what}: 'auth' is not base64 of user:password");
        return null;
    }
}
