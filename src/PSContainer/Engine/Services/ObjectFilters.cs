using System.Globalization;
using System.Text.RegularExpressions;

namespace PSContainer.Engine.Services;

/// <summary>
/// docker's filters on networks, volumes and prunes: label / label! (key or key=value), until (a time or a duration
/// before now), name (a regular expression, as dockerd matches it, so a plain word matches any name holding it),
/// dangling (true/false). Values of one filter are alternatives (labels excepted: each must hold); every filter given must hold.
/// </summary>
public static class ObjectFilters
{
    /// <summary>Refuses filters the caller does not know, as dockerd does ("invalid filter 'x'").</summary>
    public static void Check(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, params string[] known)
    {
        foreach (var key in filters.Keys)
            if (!known.Contains(key))
                throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, key, $"invalid filter '{key}'");
    }

    public static IReadOnlyList<string> Values(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, string key) =>
        filters.TryGetValue(key, out var v) ? v : [];

    /// <summary>label=key or label=key=value (all of them, as dockerd matches labels); label!=… (none of them).</summary>
    public static bool LabelsMatch(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, IReadOnlyDictionary<string, string> labels) =>
        Values(filters, "label").All(w => HasLabel(labels, w)) && !Values(filters, "label!").Any(w => HasLabel(labels, w));

    private static bool HasLabel(IReadOnlyDictionary<string, string> labels, string filter)
    {
        int eq = filter.IndexOf('=');
        return eq > 0 ? labels.TryGetValue(filter[..eq], out var v) && v == filter[(eq + 1)..] : labels.ContainsKey(filter);
    }

    /// <summary>name: any of the values as a regular expression found in the name.</summary>
    public static bool NameMatches(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, string name)
    {
        var wanted = Values(filters, "name");
        return wanted.Count == 0 || wanted.Any(w => Regex.IsMatch(name, w, RegexOptions.None, TimeSpan.FromSeconds(1)));
    }

    /// <summary>dangling=true / false (also 1 / 0); null when not given.</summary>
    public static bool? Dangling(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        var v = Values(filters, "dangling");
        if (v.Count == 0) return null;
        return v[0].ToLowerInvariant() switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, v[0], $"invalid filter 'dangling={v[0]}'"),
        };
    }

    /// <summary>until: objects created before this time (the earliest of the values given), null when not given.</summary>
    public static DateTime? Until(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, DateTime now)
    {
        var v = Values(filters, "until");
        return v.Count == 0 ? null : v.Select(x => ParseTime(x, now)).Min();
    }

    /// <summary>
    /// A time as docker's filters take it: Unix seconds (with a fraction), an RFC 3339 date or date-time, or a Go
    /// duration (10m, 1h30m, 1.5h) counted back from <paramref name="now"/>.
    /// </summary>
    public static DateTime ParseTime(string value, DateTime now)
    {
        if (decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal seconds))
            return DateTime.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        if (GoDuration(value) is TimeSpan d) return now.ToUniversalTime() - d;
        if (DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
            return t;
        throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, value,
            $"invalid filter 'until={value}': expected Unix seconds, an RFC 3339 time or a duration such as 10m or 24h");
    }

    private static readonly Regex DurationPart = new(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", RegexOptions.CultureInvariant);

    private static TimeSpan? GoDuration(string value)
    {
        if (value.Length == 0) return null;
        var matches = DurationPart.Matches(value);
        if (matches.Sum(m => m.Length) != value.Length) return null;
        double ticks = 0;
        foreach (Match m in matches)
        {
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ticks += n * m.Groups[2].Value switch
            {
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" => 10,
                _ => 0.01,
            };
        }
        return TimeSpan.FromTicks((long)ticks);
    }
}
