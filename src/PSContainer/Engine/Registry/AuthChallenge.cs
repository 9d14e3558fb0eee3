using System.Text;

namespace PSContainer.Engine.Registry;

/// <summary>
/// One challenge of a WWW-Authenticate header (RFC 7235): a scheme ("Bearer", "Basic") and its parameters
/// (realm, service, scope, error). Registries answer 401 with these; the Bearer one says where to get a token.
/// </summary>
public sealed class AuthChallenge
{
    public AuthChallenge(string scheme, IReadOnlyDictionary<string, string> parameters)
    {
        Scheme = scheme;
        Parameters = parameters;
    }

    public string Scheme { get; }

    /// <summary>Parameters by lowercase name; quoted values are unquoted.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    public string? Realm => Parameters.GetValueOrDefault("realm");
    public string? Service => Parameters.GetValueOrDefault("service");
    public string? Scope => Parameters.GetValueOrDefault("scope");
    public string? Error => Parameters.GetValueOrDefault("error");

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public override string ToString() =>
        Scheme + (Parameters.Count == 0 ? "" : " " + string.Join(",", Parameters.Select(p => $"{p.Key}=\"{p.Value}\"")));

    /// <summary>Parses every challenge in one or more WWW-Authenticate header values. Malformed parts are skipped.</summary>
    public static IReadOnlyList<AuthChallenge> Parse(IEnumerable<string> headerValues)
    {
        var result = new List<AuthChallenge>();
        foreach (string value in headerValues) result.AddRange(Parse(value));
        return result;
    }

    public static IReadOnlyList<AuthChallenge> Parse(string? header)
    {
        var result = new List<AuthChallenge>();
        if (string.IsNullOrWhiteSpace(header)) return result;
        int i = 0, n = header.Length;
        while (i < n)
        {
            SkipSeparators(header, ref i);
            string scheme = ReadToken(header, ref i);
            if (scheme.Length == 0)
            {
                i++; // a character no token may hold: skip it
                continue;
            }
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            while (i < n)
            {
                int save = i;
                SkipWhitespace(header, ref i);
                if (i < n && header[i] == ',') { i++; SkipWhitespace(header, ref i); }
                string name = ReadToken(header, ref i);
                SkipWhitespace(header, ref i);
                if (name.Length == 0 || i >= n || header[i] != '=')
                {
                    // token68 ("Basic dXNlcg==") is not used by registries; a bare token starts the next challenge.
                    i = save;
                    break;
                }
                i++; // '='
                SkipWhitespace(header, ref i);
                string value = i < n && header[i] == '"' ? ReadQuoted(header, ref i) : ReadToken(header, ref i);
                parameters[name.ToLowerInvariant()] = value;
                SkipWhitespace(header, ref i);
                if (i < n && header[i] != ',') break;
            }
            result.Add(new AuthChallenge(scheme, parameters));
        }
        return result;
    }

    private static void SkipWhitespace(string s, ref int i)
    {
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t')) i++;
    }

    private static void SkipSeparators(string s, ref int i)
    {
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) i++;
    }

    private static string ReadToken(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && IsTokenChar(s[i])) i++;
        return s[start..i];
    }

    // RFC 7230 tchar, plus '/' ':' so unquoted realms and scopes still read as one value.
    private static bool IsTokenChar(char c) =>
        c > ' ' && c < 127 && c is not ('"' or ',' or '=' or ';' or '(' or ')' or '<' or '>' or '@' or '[' or ']' or '?' or '{' or '}' or '\\')
        || c is '/' or ':' or '@' or '[' or ']' or '?';

    private static string ReadQuoted(string s, ref int i)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (i < s.Length && s[i] != '"')
        {
            if (s[i] == '\\' && i + 1 < s.Length) i++;
            sb.Append(s[i]);
            i++;
        }
        if (i < s.Length) i++; // closing quote
        return sb.ToString();
    }
}
