namespace PSContainer.Engine.Build;

/// <summary>A Dockerfile that cannot be read or built, with the line it concerns (1-based; 0 when none).</summary>
public sealed class DockerfileException : EngineException
{
    public DockerfileException(string errorId, int line, string message, ErrorKind kind = ErrorKind.InvalidData, Exception? inner = null)
        : base(errorId, kind, line > 0 ? $"Dockerfile:{line}" : "Dockerfile", line > 0 ? $"Dockerfile line {line}: {message}" : message, inner)
    {
        Line = line;
    }

    public int Line { get; }

    /// <summary>A failed RUN's exit code.</summary>
    public int? ExitCode { get; init; }
}

/// <summary>A heredoc of RUN/COPY/ADD (<c>&lt;&lt;EOF</c>): its name, its body, and whether variables in it expand (unquoted name).</summary>
public sealed record Heredoc(string Name, string Content, bool Expand);

/// <summary>
/// One instruction as written: its keyword (upper case), its --flags, its arguments (the raw text after the flags,
/// continuations joined) or its JSON form, its heredocs, and the line it starts on.
/// </summary>
public sealed record DockerfileInstruction(
    string Keyword,
    IReadOnlyDictionary<string, List<string>> Flags,
    string Arguments,
    IReadOnlyList<string>? Json,
    IReadOnlyList<Heredoc> Heredocs,
    int Line,
    string Original)
{
    public string? Flag(string name) => Flags.TryGetValue(name, out var values) && values.Count > 0 ? values[^1] : null;

    public IReadOnlyList<string> FlagValues(string name) => Flags.TryGetValue(name, out var values) ? values : [];
}

/// <summary>A parsed Dockerfile: its escape character, the notes the parser has for the user, and its instructions.</summary>
public sealed record Dockerfile(char Escape, IReadOnlyList<string> Notes, IReadOnlyList<DockerfileInstruction> Instructions);
