using System.Globalization;
using System.Text.Json;

namespace PSContainer.Api;

/// <summary>Docker's query parameter conventions: booleans as 1/true/True (0/false/empty are false), filters as JSON.</summary>
public static class Query
{
    public static bool Bool(HttpRequest request, string name, bool absent = false)
    {
        string? v = request.Query[name];
        if (v is null) return absent;
        return v.ToLowerInvariant() switch
        {
            "1" or "true" => true,
            "0" or "false" or "" => false,
            _ => throw ApiException.BadParameter($"invalid value for {name}: '{v}' (expected a boolean)"),
        };
    }

    public static string? String(HttpRequest request, string name) => request.Query[name] is { Count: > 0 } v && v[0] is { Length: > 0 } s ? s : null;

    public static int? Int(HttpRequest request, string name)
    {
        string? v = String(request, name);
        if (v is null) return null;
        return int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int i) ? i
            : throw ApiException.BadParameter($"invalid value for {name}: '{v}' (expected an integer)");
    }

    /// <summary>docker's filters: {"name": ["a", "b"]} (or the older {"name": {"a": true}}).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Filters(HttpRequest request)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        string? text = String(request, "filters");
        if (text is null) return result;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw ApiException.BadParameter("invalid filters: " + e.Message);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ApiException.BadParameter("invalid filters: not an object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                result[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.Array => p.Value.EnumerateArray().Select(v => v.GetString() ?? "").ToList(),
                    JsonValueKind.Object => p.Value.EnumerateObject().Where(v => v.Value.ValueKind == JsonValueKind.True).Select(v => v.Name).ToList(),
                    _ => throw ApiException.BadParameter($"invalid filter '{p.Name}'"),
                };
            }
        }
        return result;
    }

    /// <summary>A time as docker sends it: Unix seconds, with an optional fraction (since=1700000000.5).</summary>
    public static DateTime? UnixTime(HttpRequest request, string name)
    {
        string? v = String(request, name);
        if (v is null || v == "0") return null;
        if (!decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal seconds))
            throw ApiException.BadParameter($"invalid value for {name}: '{v}' (expected Unix seconds)");
        return DateTime.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }
}
