using System.Text.Json;

namespace PSContainer.Api;

/// <summary>
/// Reading the small JSON bodies of the object endpoints (network create/connect, volume create): fields by name
/// with docker's zero values, and the list of set fields this server cannot honour, refused together in one 400.
/// </summary>
public sealed class RequestBody
{
    private readonly List<string> refused = [];

    private RequestBody(JsonElement root) => Root = root;

    public JsonElement Root { get; }

    public static async Task<(JsonDocument Doc, RequestBody Body)> ReadAsync(HttpRequest r)
    {
        if (r.ContentLength == 0) throw ApiException.BadParameter("a JSON body is required");
        var doc = await JsonDocument.ParseAsync(r.Body, cancellationToken: r.HttpContext.RequestAborted);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw ApiException.BadParameter("the body must be a JSON object");
        }
        return (doc, new RequestBody(doc.RootElement));
    }

    public static RequestBody Of(JsonElement e) => new(e);

    public IEnumerable<JsonProperty> Fields(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject(),
        JsonValueKind.Null or JsonValueKind.Undefined => [],
        _ => throw ApiException.BadParameter($"expected an object, got {e.GetRawText()}"),
    };

    public static string? String(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString() is { Length: > 0 } s ? s : null,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => throw ApiException.BadParameter($"expected a string, got {v.GetRawText()}"),
    };

    public static bool Bool(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null or JsonValueKind.Undefined => false,
        _ => throw ApiException.BadParameter($"expected a boolean, got {v.GetRawText()}"),
    };

    public static List<string> Strings(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => v.EnumerateArray().Select(e => String(e) ?? "").Where(s => s.Length > 0).ToList(),
        JsonValueKind.String => [v.GetString()!],
        JsonValueKind.Null or JsonValueKind.Undefined => [],
        _ => throw ApiException.BadParameter($"expected an array of strings, got {v.GetRawText()}"),
    };

    public Dictionary<string, string> Map(JsonElement v) =>
        Fields(v).ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal);

    /// <summary>Notes a field this server does not honour, unless the client sent its zero value.</summary>
    public void Refuse(string field, JsonElement value, string why = "not supported")
    {
        if (!CreateRequestMapper.IsZero(value)) refused.Add($"{field} ({why})");
    }

    /// <summary>Throws one 400 naming every refused field.</summary>
    public void ThrowIfRefused(string what)
    {
        if (refused.Count > 0) throw ApiException.BadParameter($"PSContainer cannot honour these {what} settings: " + string.Join("; ", refused));
    }
}
