using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PSContainer.Engine.Build;

/// <summary>
/// Reads Dockerfile syntax as Docker's reference documents it: parser directives at the top (escape honoured,
/// syntax noted and ignored since there is no frontend to load), comments, line continuations with the escape
/// character, --flags, JSON and shell forms, and heredocs for RUN, COPY and ADD. Variables are not expanded here:
/// which words expand depends on the instruction and on the build's ARG/ENV state (<see cref="ShellWords"/>).
/// </summary>
public static partial class DockerfileParser
{
    /// <summary>Larger than any real Dockerfile; keeps a runaway or hostile file from being read into memory whole.</summary>
    public const int MaxBytes = 1 << 20;

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
        "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    };

    private static readonly HashSet<string> WithFlags = new(StringComparer.Ordinal) { "FROM", "RUN", "COPY", "ADD", "HEALTHCHECK" };
    private static readonly HashSet<string> WithHeredocs = new(StringComparer.Ordinal) { "RUN", "COPY", "ADD" };

    [GeneratedRegex(@"^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$")]
    private static partial Regex DirectivePattern();

    [GeneratedRegex(@"<<(-?)(?:""([A-Za-z_][A-Za-z0-9_.-]*)""|'([A-Za-z_][A-Za-z0-9_.-]*)'|([A-Za-z_][A-Za-z0-9_.-]*))")]
    private static partial Regex HeredocPattern();

    public static Dockerfile ParseFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new DockerfileException("DockerfileNotFound", 0, $"The Dockerfile '{path}' does not exist.", ErrorKind.ObjectNotFound);
        if (info.Length > MaxBytes)
            throw new DockerfileException("DockerfileTooLarge", 0, $"The Dockerfile '{path}' is {info.Length} bytes; a Dockerfile may be at most {MaxBytes} bytes.");
        return Parse(File.ReadAllText(path));
    }

    public static Dockerfile Parse(string text)
    {
        if (text.Length > MaxBytes)
            throw new DockerfileException("DockerfileTooLarge", 0, $"The Dockerfile is {text.Length} characters; a Dockerfile may be at most {MaxBytes} bytes.");
        if (text.Contains('\0')) throw new DockerfileException("DockerfileBinary", 0, "The Dockerfile contains NUL bytes; it is not a text file.");
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length > 0 && lines[0].StartsWith('\uFEFF')) lines[0] = lines[0][1..];
        var notes = new List<string>();
        char escape = '\\';
        int index = ReadDirectives(lines, notes, ref escape);

        var instructions = new List<DockerfileInstruction>();
        while (index < lines.Length)
        {
            string line = lines[index];
            string trimmed = line.TrimStart(' ', '\t');
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                index++;
                continue;
            }
            int start = index + 1;
            var logical = new StringBuilder();
            var original = new StringBuilder(line);
            string current = trimmed;
            index++;
            while (EndsWithEscape(current, escape, out string body))
            {
                logical.Append(body);
                // Comment lines inside a continuation are dropped; an empty one is allowed (Docker warns about it).
                while (index < lines.Length && lines[index].TrimStart(' ', '\t') is { } next && (next.Length == 0 || next[0] == '#'))
                    original.Append('\n').Append(lines[index++]);
                if (index >= lines.Length)
                {
                    current = "";
                    break;
                }
                original.Append('\n').Append(lines[index]);
                current = lines[index++];
            }
            logical.Append(current);
            instructions.Add(ParseInstruction(logical.ToString().Trim(), start, original.ToString(), lines, ref index, escape));
        }
        return new Dockerfile(escape, notes, instructions);
    }

    private static int ReadDirectives(string[] lines, List<string> notes, ref char escape)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int index = 0;
        for (; index < lines.Length; index++)
        {
            var match = DirectivePattern().Match(lines[index]);
            if (!match.Success) break;
            string name = match.Groups[1].Value.ToLowerInvariant();
            string value = match.Groups[2].Value;
            if (name is not ("escape" or "syntax" or "check")) break; // an unknown directive is a comment and ends the directives
            if (!seen.Add(name))
                throw new DockerfileException("DuplicateParserDirective", index + 1, $"the parser directive '{name}' is given more than once.");
            if (name == "escape")
            {
                if (value is not ("\\" or "`"))
                    throw new DockerfileException("InvalidEscapeDirective", index + 1, $"invalid escape token '{value}': only \\ and ` are allowed.");
                escape = value[0];
            }
            else if (name == "syntax")
                notes.Add($"Dockerfile line {index + 1}: the syntax directive ({value}) is ignored: this builder reads the Dockerfile itself and loads no frontend image.");
        }
        return index;
    }

    private static bool EndsWithEscape(string line, char escape, out string body)
    {
        string end = line.TrimEnd(' ', '\t');
        if (end.Length > 0 && end[^1] == escape)
        {
            body = end[..^1];
            return true;
        }
        body = line;
        return false;
    }

    private static DockerfileInstruction ParseInstruction(string logical, int line, string original, string[] lines, ref int index, char escape)
    {
        int space = logical.IndexOfAny([' ', '\t']);
        string keyword = (space < 0 ? logical : logical[..space]).ToUpperInvariant();
        string rest = space < 0 ? "" : logical[(space + 1)..].TrimStart(' ', '\t');
        if (!Known.Contains(keyword))
            throw new DockerfileException("UnknownInstruction", line, $"unknown instruction '{(space < 0 ? logical : logical[..space])}'.");

        var flags = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (WithFlags.Contains(keyword)) rest = ReadFlags(rest, flags);

        var heredocs = new List<Heredoc>();
        if (WithHeredocs.Contains(keyword)) ReadHeredocs(rest, line, lines, ref index, heredocs);

        IReadOnlyList<string>? json = null;
        if (heredocs.Count == 0 && rest.StartsWith('[')) json = TryJson(rest);
        if (keyword == "ONBUILD")
        {
            string inner = rest.Split([' ', '\t'], 2)[0].ToUpperInvariant();
            if (inner is "ONBUILD" or "FROM" or "MAINTAINER" or "")
                throw new DockerfileException("InvalidOnbuild", line, inner.Length == 0 ? "ONBUILD needs an instruction." : $"{inner} is not allowed as an ONBUILD trigger.");
        }
        if (rest.Length == 0 && keyword is not ("CMD" or "ENTRYPOINT" or "RUN" or "SHELL" or "HEALTHCHECK"))
            throw new DockerfileException("MissingArguments", line, $"{keyword} requires at least one argument.");
        _ = escape;
        return new DockerfileInstruction(keyword, flags, rest, json, heredocs, line, original);
    }

    private static string ReadFlags(string rest, Dictionary<string, List<string>> flags)
    {
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            int end = rest.IndexOfAny([' ', '\t']);
            string word = end < 0 ? rest : rest[..end];
            if (word == "--") break;
            int eq = word.IndexOf('=');
            string name = eq < 0 ? word[2..] : word[2..eq];
            string value = eq < 0 ? "true" : word[(eq + 1)..];
            if (!flags.TryGetValue(name, out var list)) flags[name] = list = [];
            list.Add(value);
            rest = end < 0 ? "" : rest[end..].TrimStart(' ', '\t');
        }
        return rest;
    }

    private static void ReadHeredocs(string rest, int line, string[] lines, ref int index, List<Heredoc> heredocs)
    {
        foreach (Match match in HeredocPattern().Matches(rest))
        {
            bool stripTabs = match.Groups[1].Value == "-";
            bool quoted = !match.Groups[4].Success;
            string name = quoted ? (match.Groups[2].Success ? match.Groups[2].Value : match.Groups[3].Value) : match.Groups[4].Value;
            var body = new StringBuilder();
            bool closed = false;
            while (index < lines.Length)
            {
                string l = lines[index++];
                if (stripTabs) l = l.TrimStart('\t');
                if (l == name)
                {
                    closed = true;
                    break;
                }
                body.Append(l).Append('\n');
            }
            if (!closed) throw new DockerfileException("UnterminatedHeredoc", line, $"the heredoc '{name}' has no closing line '{name}'.");
            heredocs.Add(new Heredoc(name, body.ToString(), !quoted));
        }
    }

    private static IReadOnlyList<string>? TryJson(string rest)
    {
        try
        {
            using var doc = JsonDocument.Parse(rest);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return null;
            var list = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) return null;
                list.Add(e.GetString()!);
            }
            return list;
        }
        catch (JsonException)
        {
            return null; // not JSON: Docker reads it as the shell form
        }
    }
}
