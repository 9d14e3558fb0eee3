using System.Text;
using System.Text.RegularExpressions;

namespace PSContainer.Engine.Build;

/// <summary>
/// A .dockerignore: one pattern a line, '#' comments, each cleaned like Go's filepath.Clean with a leading '/'
/// dropped; a pattern is Go's filepath.Match syntax ('*' and '?' never cross '/', [classes], '\' escapes) plus '**'
/// for any number of directories, and matches a path or any of its parents. '!' re-includes; the last pattern
/// that matches decides, as in moby's patternmatcher.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclusion, string Text)> patterns = [];

    public DockerIgnore(IEnumerable<string> lines)
    {
        int number = 0;
        foreach (string raw in lines)
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            bool exclusion = line[0] == '!';
            if (exclusion) line = line[1..].Trim();
            line = Clean(line);
            if (line is "" or ".") continue;
            patterns.Add((Compile(line, number), exclusion, line));
        }
    }

    public static DockerIgnore Empty { get; } = new([]);

    public static DockerIgnore ReadFrom(string contextDirectory)
    {
        string path = Path.Combine(contextDirectory, ".dockerignore");
        return File.Exists(path) ? new DockerIgnore(File.ReadAllLines(path)) : Empty;
    }

    public bool HasExclusions => patterns.Any(p => p.Exclusion);

    /// <summary>Whether a context path ("dir/file", '/'-separated, relative) is left out of the build context.</summary>
    public bool IsIgnored(string relativePath)
    {
        string path = Clean(relativePath);
        string[] parts = path.Split('/');
        bool ignored = false;
        foreach (var (pattern, exclusion, _) in patterns)
        {
            if (exclusion != ignored) continue; // an exclusion only matters for a path ignored so far, and the reverse
            if (MatchesOrParent(pattern, parts)) ignored = !exclusion;
        }
        return ignored;
    }

    private static bool MatchesOrParent(Regex pattern, string[] parts)
    {
        var prefix = new StringBuilder();
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0) prefix.Append('/');
            prefix.Append(parts[i]);
            if (pattern.IsMatch(prefix.ToString())) return true;
        }
        return false;
    }

    /// <summary>Go's filepath.Clean for '/'-separated relative paths, with a leading '/' dropped.</summary>
    public static string Clean(string path)
    {
        var stack = new List<string>();
        foreach (string part in path.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (stack.Count > 0 && stack[^1] != "..") stack.RemoveAt(stack.Count - 1);
                else if (!path.StartsWith('/')) stack.Add("..");
                continue;
            }
            stack.Add(part);
        }
        return stack.Count == 0 ? "." : string.Join('/', stack);
    }

    /// <summary>filepath.Match syntax plus '**' as a regular expression over the whole path.</summary>
    public static Regex Compile(string pattern, int line = 0)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++;
                        sb.Append("(?:.*/)?"); // "**/" is zero or more directories
                    }
                    else sb.Append(".*");
                    break;
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '\\':
                    if (i + 1 >= pattern.Length) throw BadPattern(pattern, line, "it ends with an escape");
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '[':
                    int close = ClassEnd(pattern, i);
                    if (close < 0) throw BadPattern(pattern, line, "a '[' is not closed");
                    string body = pattern[(i + 1)..close];
                    bool negate = body.StartsWith('^');
                    if (negate) body = body[1..];
                    if (body.Length == 0) throw BadPattern(pattern, line, "a character class is empty");
                    sb.Append(negate ? "[^/" : "[").Append(ClassBody(body)).Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        sb.Append('$');
        try
        {
            return new Regex(sb.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw BadPattern(pattern, line, e.Message);
        }
    }

    private static int ClassEnd(string pattern, int open)
    {
        for (int j = open + 1; j < pattern.Length; j++)
        {
            if (pattern[j] == '\\') j++;
            else if (pattern[j] == ']' && j > open + 1) return j;
        }
        return -1;
    }

    private static string ClassBody(string body)
    {
        var sb = new StringBuilder();
        for (int j = 0; j < body.Length; j++)
        {
            char c = body[j];
            if (c == '\\' && j + 1 < body.Length) sb.Append('\\').Append(body[++j]);
            else if (c == '-' && j > 0 && j + 1 < body.Length) sb.Append('-');
            else if (c is '[' or ']' or '^' or '-' or '\\') sb.Append('\\').Append(c);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static DockerfileException BadPattern(string pattern, int line, string why) =>
        new("BadDockerignorePattern", 0, $".dockerignore line {line}: the pattern '{pattern}' is malformed: {why}.");
}
