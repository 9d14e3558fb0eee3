using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PSContainer.Engine.Images;

/// <summary>
/// Dockerfile instructions applied to an image config (docker commit --change): CMD, ENTRYPOINT, ENV, EXPOSE,
/// LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL and HEALTHCHECK, the set docker commit accepts, each in its Dockerfile forms (JSON
/// array or shell form; KEY=VALUE pairs or the legacy KEY VALUE). Applied to the config as JSON, so fields this
/// engine does not model (Healthcheck, OnBuild, Shell) are carried over untouched.
/// </summary>
public static partial class CommitChanges
{
    private static readonly string[] Supported = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL", "HEALTHCHECK"];

    /// <summary>Applies each change in order to the "config" object of an image config.</summary>
    public static void Apply(JsonObject config, IEnumerable<string> changes)
    {
        foreach (string change in changes) ApplyOne(config, change);
    }

    public static void ApplyOne(JsonObject config, string change)
    {
        string text = change.Trim();
        int space = text.IndexOfAny([' ', '\t']);
        string keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
        string rest = space < 0 ? "" : text[(space + 1)..].Trim();
        if (!Supported.Contains(keyword))
            throw Invalid(change, $"'{keyword}' is not an instruction docker commit --change accepts ({string.Join(", ", Supported)}).");
        if (rest.Length == 0) throw Invalid(change, $"{keyword} needs an argument.");
        switch (keyword)
        {
            case "CMD":
                config["Cmd"] = ToArray(CommandForm(rest, change));
                break;
            case "ENTRYPOINT":
                config["Entrypoint"] = ToArray(CommandForm(rest, change));
                // Docker: a new entrypoint resets the image's CMD unless the same changes set one after it.
                config.Remove("Cmd");
                break;
            case "ENV":
            {
                var env = (config["Env"] as JsonArray)?.Select(e => e!.GetValue<string>()).ToList() ?? [];
                foreach (var (key, value) in Pairs(rest, change, "ENV"))
                {
                    env.RemoveAll(e => e == key || e.StartsWith(key + "=", StringComparison.Ordinal));
                    env.Add(key + "=" + value);
                }
                config["Env"] = ToArray(env);
                break;
            }
            case "LABEL":
            {
                var labels = config["Labels"] as JsonObject ?? new JsonObject();
                foreach (var (key, value) in Pairs(rest, change, "LABEL")) labels[key] = value;
                config["Labels"] = labels;
                break;
            }
            case "EXPOSE":
            {
                var ports = config["ExposedPorts"] as JsonObject ?? new JsonObject();
                foreach (string word in Words(rest, change))
                {
                    string[] parts = word.Split('/');
                    string proto = parts.Length > 1 ? parts[1].ToLowerInvariant() : "tcp";
                    if (parts.Length > 2 || !ushort.TryParse(parts[0], out ushort port) || port == 0 || proto is not ("tcp" or "udp" or "sctp"))
                        throw Invalid(change, $"'{word}' is not a port (PORT or PORT/tcp|udp|sctp).");
                    ports[$"{port}/{proto}"] = new JsonObject();
                }
                config["ExposedPorts"] = ports;
                break;
            }
            case "VOLUME":
            {
                var volumes = config["Volumes"] as JsonObject ?? new JsonObject();
                var paths = rest.StartsWith('[') ? JsonForm(rest, change) : Words(rest, change);
                foreach (string path in paths)
                {
                    if (!path.StartsWith('/')) throw Invalid(change, $"VOLUME '{path}' is not an absolute path.");
                    volumes[path] = new JsonObject();
                }
                config["Volumes"] = volumes;
                break;
            }
            case "HEALTHCHECK":
                config["Healthcheck"] = Healthcheck(rest, change);
                break;
            case "USER":
                config["User"] = Single(rest, change, keyword);
                break;
            case "WORKDIR":
            {
                string dir = Single(rest, change, keyword);
                // Relative WORKDIR is relative to the previous one, as in a Dockerfile.
                if (!dir.StartsWith('/'))
                {
                    string previous = config["WorkingDir"]?.GetValue<string>() is { Length: > 0 } p ? p : "/";
                    dir = previous.TrimEnd('/') + "/" + dir;
                }
                config["WorkingDir"] = dir;
                break;
            }
            case "STOPSIGNAL":
            {
                string signal = Single(rest, change, keyword);
                bool numeric = int.TryParse(signal, out int n) && n is > 0 and < 65;
                string name = signal.ToUpperInvariant();
                if (!numeric && !(name.StartsWith("SIG", StringComparison.Ordinal) ? name[3..] : name).All(char.IsAsciiLetterOrDigit))
                    throw Invalid(change, $"'{signal}' is not a signal.");
                config["StopSignal"] = signal;
                break;
            }
        }
    }

    private static JsonArray ToArray(IEnumerable<string> items) => new(items.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray());

    /// <summary>Exec form (a JSON array of strings) or shell form, which runs under /bin/sh -c as in a Dockerfile.</summary>
    private static List<string> CommandForm(string rest, string change) =>
        rest.StartsWith('[') ? JsonForm(rest, change) : ["/bin/sh", "-c", rest];

    private static List<string> JsonForm(string rest, string change)
    {
        try
        {
            return JsonSerializer.Deserialize<List<string>>(rest) ?? throw Invalid(change, "the JSON form is empty.");
        }
        catch (JsonException e)
        {
            throw Invalid(change, $"the JSON form is not an array of strings: {e.Message}");
        }
    }

    private static string Single(string rest, string change, string keyword)
    {
        var words = Words(rest, change);
        if (words.Count != 1) throw Invalid(change, $"{keyword} takes exactly one argument.");
        return words[0];
    }

    /// <summary>KEY=VALUE pairs (values may be quoted), or the legacy "KEY VALUE" form with one pair and the rest of the line as value.</summary>
    private static List<(string Key, string Value)> Pairs(string rest, string change, string keyword)
    {
        var words = Words(rest, change);
        var result = new List<(string, string)>();
        if (words.Count > 0 && !words[0].Contains('='))
        {
            // Legacy form: ENV KEY some value with spaces.
            int space = rest.IndexOfAny([' ', '\t']);
            if (space < 0) throw Invalid(change, $"{keyword} needs KEY=VALUE or KEY VALUE.");
            result.Add((rest[..space], Words(rest[(space + 1)..].Trim(), change) is { Count: 1 } single ? single[0] : rest[(space + 1)..].Trim()));
        }
        else
        {
            foreach (string word in words)
            {
                int eq = word.IndexOf('=');
                if (eq <= 0) throw Invalid(change, $"'{word}' is not KEY=VALUE.");
                result.Add((word[..eq], word[(eq + 1)..]));
            }
        }
        foreach (var (key, _) in result)
            // A label key may hold spaces when quoted (Dockerfile); an environment variable's name may not.
            if (key.Length == 0 || (keyword == "ENV" && key.Any(char.IsWhiteSpace))) throw Invalid(change, $"'{key}' is not a valid name.");
        return result;
    }

    /// <summary>Splits on white space outside quotes; quotes are removed and backslash escapes the next character, as Dockerfile words.</summary>
    internal static List<string> Words(string text, string change)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote != '\0')
            {
                if (c == quote) { quote = '\0'; continue; }
                if (c == '\\' && quote == '"' && i + 1 < text.Length) { current.Append(text[++i]); continue; }
                current.Append(c);
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(current.ToString()); current.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c is '"' or '\'') { quote = c; continue; }
            if (c == '\\' && i + 1 < text.Length) { current.Append(text[++i]); continue; }
            current.Append(c);
        }
        if (quote != '\0') throw Invalid(change, "a quote is not closed.");
        if (inWord) words.Add(current.ToString());
        return words;
    }

    private static EngineException Invalid(string change, string why) =>
        new("InvalidChange", ErrorKind.InvalidArgument, change, $"Invalid -Change '{change}': {why}");
}
