using System.Text;

namespace PSContainer.Engine.Build;

/// <summary>
/// Docker's word processing for the instructions it expands itself (FROM, COPY, ADD, ENV, ARG, LABEL, WORKDIR,
/// USER, EXPOSE, VOLUME, STOPSIGNAL and the JSON-less forms of their arguments): $name, ${name},
/// ${name:-default} and ${name:+alternative} (and their colon-less forms), single quotes keep text literal,
/// double quotes keep spaces but expand, the escape character keeps the next character literal. Unset variables
/// expand to nothing, as in Docker.
/// </summary>
public static class ShellWords
{
    /// <summary>Expands and unquotes one word (spaces kept).</summary>
    public static string Word(string text, Func<string, string?> lookup, char escape = '\\') =>
        string.Concat(Process(text, lookup, escape, split: false));

    /// <summary>Expands, unquotes and splits on unquoted whitespace.</summary>
    public static List<string> Words(string text, Func<string, string?> lookup, char escape = '\\') =>
        Process(text, lookup, escape, split: true);

    /// <summary>Expands variables only, keeping quotes and escapes (heredoc bodies, ONBUILD text).</summary>
    public static string ExpandOnly(string text, Func<string, string?> lookup, char escape = '\\')
    {
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == escape && i + 1 < text.Length && text[i + 1] == '$')
            {
                sb.Append('$');
                i++;
            }
            else if (c == '$') sb.Append(Variable(text, ref i, lookup, escape));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static List<string> Process(string text, Func<string, string?> lookup, char escape, bool split)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (split && (c == ' ' || c == '\t' || c == '\n'))
            {
                if (inWord) words.Add(current.ToString());
                current.Clear();
                inWord = false;
                continue;
            }
            inWord = true;
            if (c == escape)
            {
                if (i + 1 < text.Length) current.Append(text[++i]);
                else current.Append(c);
            }
            else if (c == '\'')
            {
                int end = text.IndexOf('\'', i + 1);
                if (end < 0) throw new DockerfileException("UnterminatedQuote", 0, $"unexpected end of text in '{text}': a single quote is not closed.");
                current.Append(text, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                int j = i + 1;
                for (; j < text.Length && text[j] != '"'; j++)
                {
                    if (text[j] == escape && j + 1 < text.Length && text[j + 1] is '"' or '$' or '\\' or '`')
                        current.Append(text[++j]);
                    else if (text[j] == '$') current.Append(Variable(text, ref j, lookup, escape));
                    else current.Append(text[j]);
                }
                if (j >= text.Length) throw new DockerfileException("UnterminatedQuote", 0, $"unexpected end of text in '{text}': a double quote is not closed.");
                i = j;
            }
            else if (c == '$') current.Append(Variable(text, ref i, lookup, escape));
            else current.Append(c);
        }
        if (inWord || !split) words.Add(current.ToString());
        return words;
    }

    /// <summary>Reads the variable reference starting at text[i] == '$' and leaves i on its last character.</summary>
    private static string Variable(string text, ref int i, Func<string, string?> lookup, char escape)
    {
        if (i + 1 >= text.Length) return "$";
        char next = text[i + 1];
        if (next == '{')
        {
            int close = MatchingBrace(text, i + 2);
            if (close < 0) throw new DockerfileException("BadSubstitution", 0, $"missing '}}' in '{text}'.");
            string inside = text[(i + 2)..close];
            i = close;
            int nameEnd = 0;
            while (nameEnd < inside.Length && (char.IsAsciiLetterOrDigit(inside[nameEnd]) || inside[nameEnd] == '_')) nameEnd++;
            string name = inside[..nameEnd];
            if (name.Length == 0) throw new DockerfileException("BadSubstitution", 0, $"bad substitution '${{{inside}}}' in '{text}'.");
            string? value = lookup(name);
            string op = inside[nameEnd..];
            if (op.Length == 0) return value ?? "";
            bool colon = op.StartsWith(':');
            string rest = colon ? op[1..] : op;
            if (rest.Length == 0) throw new DockerfileException("BadSubstitution", 0, $"bad substitution '${{{inside}}}' in '{text}'.");
            char kind = rest[0];
            string word = Word(rest[1..], lookup, escape);
            bool set = colon ? !string.IsNullOrEmpty(value) : value is not null;
            return kind switch
            {
                '-' => set ? value! : word,
                '+' => set ? word : "",
                '?' => set ? value! : throw new DockerfileException("RequiredVariable", 0, $"{name}: {(word.Length > 0 ? word : "is not set")}."),
                _ => throw new DockerfileException("BadSubstitution", 0, $"unsupported modifier '{kind}' in '${{{inside}}}'."),
            };
        }
        if (char.IsAsciiLetter(next) || next == '_')
        {
            int end = i + 1;
            while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
            string name = text[(i + 1)..end];
            i = end - 1;
            return lookup(name) ?? "";
        }
        return "$";
    }

    private static int MatchingBrace(string text, int from)
    {
        int depth = 1;
        for (int j = from; j < text.Length; j++)
        {
            if (text[j] == '{') depth++;
            else if (text[j] == '}' && --depth == 0) return j;
        }
        return -1;
    }

    /// <summary>
    /// ENV and LABEL pairs: "k=v k2='v 2'" (each word split at its first =), or the legacy "key value with spaces" form
    /// (only when the first word has no =).
    /// </summary>
    public static List<KeyValuePair<string, string>> Pairs(string text, Func<string, string?> lookup, char escape, string keyword, int line)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (!RawFirstWordHasEquals(text))
        {
            int space = text.IndexOfAny([' ', '\t']);
            if (space < 0) throw new DockerfileException("MissingValue", line, $"{keyword} {text} needs a value ({keyword} name=value).");
            string key = text[..space];
            result.Add(new(Word(key, lookup, escape), Word(text[(space + 1)..].TrimStart(), lookup, escape)));
            return result;
        }
        foreach (string word in SplitRaw(text, escape))
        {
            int eq = word.IndexOf('=');
            if (eq <= 0) throw new DockerfileException("MissingValue", line, $"{keyword}: '{word}' is not name=value.");
            result.Add(new(Word(word[..eq], lookup, escape), Word(word[(eq + 1)..], lookup, escape)));
        }
        return result;
    }

    private static bool RawFirstWordHasEquals(string text)
    {
        foreach (char c in text)
        {
            if (c is ' ' or '\t') return false;
            if (c == '=') return true;
        }
        return false;
    }

    /// <summary>Splits at unquoted whitespace keeping quotes and escapes (each part is processed later).</summary>
    public static List<string> SplitRaw(string text, char escape)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote == '\0' && c is ' ' or '\t' or '\n')
            {
                if (current.Length > 0) parts.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(c);
            if (c == escape && quote != '\'' && i + 1 < text.Length) current.Append(text[++i]);
            else if (quote == '\0' && c is '\'' or '"') quote = c;
            else if (c == quote) quote = '\0';
        }
        if (current.Length > 0) parts.Add(current.ToString());
        return parts;
    }
}
