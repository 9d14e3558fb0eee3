using System.Diagnostics;
using PSContainer.Engine.Build;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The Dockerfile reader, word expansion and .dockerignore matching, table-driven, plus a bounded fuzz run.</summary>
public sealed class BuildDockerfileParserTests
{
    public static TheoryData<string, string, string, int> Instructions => new()
    {
        // text, keyword, arguments, line of the (last) instruction
        { "FROM busybox", "FROM", "busybox", 1 },
        { "from busybox AS base", "FROM", "busybox AS base", 1 },
        { "# a comment\n\nRUN echo hi", "RUN", "echo hi", 3 },
        { "RUN echo a \\\n    b", "RUN", "echo a     b", 1 },
        { "RUN echo a \\\n# inner comment\n  b", "RUN", "echo a   b", 1 },
        { "RUN echo a \\\n\n  b", "RUN", "echo a   b", 1 },
        { "# escape=`\nRUN echo a `\n b", "RUN", "echo a  b", 2 },
        { "  # indented comment\nENV A=1", "ENV", "A=1", 2 },
        { "\uFEFFFROM scratch", "FROM", "scratch", 1 },
        { "FROM a\r\nCMD x", "CMD", "x", 2 },
    };

    [Theory]
    [MemberData(nameof(Instructions))]
    public void Reads_instructions(string text, string keyword, string arguments, int line)
    {
        var last = DockerfileParser.Parse(text).Instructions[^1];
        Assert.Equal(keyword, last.Keyword);
        Assert.Equal(arguments, last.Arguments);
        Assert.Equal(line, last.Line);
    }

    [Fact]
    public void Directives_escape_and_syntax()
    {
        var file = DockerfileParser.Parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x");
        Assert.Equal('`', file.Escape);
        Assert.Contains(file.Notes, n => n.Contains("syntax") && n.Contains("ignored"));
        // After an instruction a directive is an ordinary comment.
        Assert.Equal('\\', DockerfileParser.Parse("FROM x\n# escape=`\nRUN a").Escape);
        // An unknown directive ends the directives.
        Assert.Equal('\\', DockerfileParser.Parse("# foo=bar\n# escape=`\nFROM x").Escape);
    }

    [Theory]
    [InlineData("FROZ busybox", "UnknownInstruction", 1)]
    [InlineData("FROM x\n\nBOGUS y", "UnknownInstruction", 3)]
    [InlineData("# escape=x\nFROM a", "InvalidEscapeDirective", 1)]
    [InlineData("# escape=`\n# escape=\\\nFROM a", "DuplicateParserDirective", 2)]
    [InlineData("FROM a\nRUN <<EOF\necho", "UnterminatedHeredoc", 2)]
    [InlineData("FROM a\nENV", "MissingArguments", 2)]
    [InlineData("FROM a\nONBUILD FROM b", "InvalidOnbuild", 2)]
    public void Refuses_bad_input_naming_the_line(string text, string errorId, int line)
    {
        var error = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(line, error.Line);
    }

    [Fact]
    public void Refuses_a_huge_dockerfile() =>
        Assert.Equal("DockerfileTooLarge", Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(new string('#', DockerfileParser.MaxBytes + 1))).ErrorId);

    [Fact]
    public void Json_and_shell_forms_and_flags()
    {
        var file = DockerfileParser.Parse("FROM --platform=linux/amd64 a AS b\nCMD [\"echo\", \"hi there\"]\nCMD [not json\nCOPY --from=b --chown=1:2 x y\nRUN --mount=type=cache,target=/c --mount=type=bind,source=.,target=/s make");
        var i = file.Instructions;
        Assert.Equal("linux/amd64", i[0].Flag("platform"));
        Assert.Equal("a AS b", i[0].Arguments);
        Assert.Equal(["echo", "hi there"], i[1].Json!);
        Assert.Null(i[2].Json);
        Assert.Equal("b", i[3].Flag("from"));
        Assert.Equal("1:2", i[3].Flag("chown"));
        Assert.Equal(2, i[4].FlagValues("mount").Count);
        Assert.Equal("make", i[4].Arguments);
    }

    [Fact]
    public void Heredocs()
    {
        var file = DockerfileParser.Parse("FROM a\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'END' /f\n\tliteral $X\n\tEND\nCMD x");
        var run = file.Instructions[1];
        Assert.Equal(new Heredoc("EOF", "echo one\necho two\n", true), run.Heredocs[0]);
        var copy = file.Instructions[2];
        Assert.Equal(new Heredoc("END", "literal $X\n", false), copy.Heredocs[0]);
        Assert.Equal("CMD", file.Instructions[3].Keyword);
        Assert.Equal(9, file.Instructions[3].Line);
    }

    public static TheoryData<string, string> Expansions => new()
    {
        { "$A", "a" },
        { "${A}b", "ab" },
        { "${UNSET:-def}", "def" },
        { "${EMPTY:-def}", "def" },
        { "${EMPTY-def}", "" },
        { "${A:-def}", "a" },
        { "${A:+alt}", "alt" },
        { "${UNSET:+alt}", "" },
        { "'$A'", "$A" },
        { "\"$A b\"", "a b" },
        { "\\$A", "$A" },
        { "x$UNSET.y", "x.y" },
        { "${A:-${B}}", "a" },
        { "${UNSET:-${B}x}", "bx" },
        { "$", "$" },
        { "a\\ b", "a b" },
    };

    private static string? Lookup(string name) => name switch { "A" => "a", "B" => "b", "EMPTY" => "", _ => null };

    [Theory]
    [MemberData(nameof(Expansions))]
    public void Expands_variables(string text, string expected) => Assert.Equal(expected, ShellWords.Word(text, Lookup));

    [Fact]
    public void Splits_words_and_pairs()
    {
        Assert.Equal(["a", "b c", "d"], ShellWords.Words("a \"b c\"  d", Lookup));
        Assert.Equal(["x=1", "y=two words", "z=a"], ShellWords.Pairs("x=1 y=\"two words\" z=$A", Lookup, '\\', "ENV", 1).Select(p => p.Key + "=" + p.Value));
        Assert.Equal(["KEY=a value with spaces"], ShellWords.Pairs("KEY a value with spaces", Lookup, '\\', "ENV", 1).Select(p => p.Key + "=" + p.Value));
        Assert.Throws<DockerfileException>(() => ShellWords.Word("'open", Lookup));
        Assert.Throws<DockerfileException>(() => ShellWords.Word("${A", Lookup));
    }

    public static TheoryData<string[], string, bool> IgnoreCases => new()
    {
        { ["*.md"], "README.md", true },
        { ["*.md"], "docs/README.md", false },
        { ["**/*.md"], "docs/README.md", true },
        { ["**/*.md"], "README.md", true },
        { ["docs"], "docs/a/b.txt", true },
        { ["/docs/"], "docs/x", true },
        { ["node_modules", "!node_modules/keep"], "node_modules/keep/a.js", false },
        { ["node_modules", "!node_modules/keep"], "node_modules/drop/a.js", true },
        { ["*", "!src", "src/*.tmp"], "src/a.tmp", true },
        { ["*", "!src", "src/*.tmp"], "src/a.cs", false },
        { ["*", "!src", "src/*.tmp"], "other", true },
        { ["fil?.txt"], "file.txt", true },
        { ["fil?.txt"], "fil/.txt", false },
        { ["[a-c].txt"], "b.txt", true },
        { ["[^a-c].txt"], "b.txt", false },
        { ["[^a-c].txt"], "d.txt", true },
        { ["\\*.txt"], "*.txt", true },
        { ["\\*.txt"], "a.txt", false },
        { ["# comment", "  a  "], "a", true },
        { ["a/../b"], "b", true },
        { ["a/**/z"], "a/z", true },
        { ["a/**/z"], "a/b/c/z", true },
        { ["a**"], "a/b", true },
    };

    [Theory]
    [MemberData(nameof(IgnoreCases))]
    public void Dockerignore_matches_like_moby(string[] lines, string path, bool ignored) =>
        Assert.Equal(ignored, new DockerIgnore(lines).IsIgnored(path));

    [Fact]
    public void Dockerignore_refuses_a_malformed_pattern() =>
        Assert.Equal("BadDockerignorePattern", Assert.Throws<DockerfileException>(() => new DockerIgnore(["[abc"])).ErrorId);

    /// <summary>
    /// Random Dockerfile-ish text (bounded: 3000 cases or 20 s): the parser and the expander either succeed or throw a
    /// DockerfileException; never any other exception, never a hang.
    /// </summary>
    [Fact]
    public void Fuzz_never_throws_anything_but_a_dockerfile_error()
    {
        string[] pieces = ["FROM", "RUN", "COPY", "ENV", "ONBUILD", "HEALTHCHECK", "ADD", "# escape=`", "# syntax=x", " ", "\t", "\n", "\\", "`", "\"", "'",
            "$", "${", "}", ":-", ":+", "<<", "<<-", "EOF", "[", "]", ",", "--", "=", "a", "b c", "#", "\r\n", "*", "**", "!", "?", "/", "..", "\0"];
        var random = new Random(1414);
        var clock = Stopwatch.StartNew();
        for (int n = 0; n < 3000 && clock.Elapsed < TimeSpan.FromSeconds(20); n++)
        {
            var sb = new System.Text.StringBuilder();
            int count = random.Next(1, 40);
            for (int k = 0; k < count; k++)
                sb.Append(random.Next(5) == 0 ? ((char)random.Next(1, 0x250)).ToString() : pieces[random.Next(pieces.Length)]);
            string text = sb.ToString();
            try
            {
                var file = DockerfileParser.Parse(text);
                foreach (var i in file.Instructions) ShellWords.Words(i.Arguments, Lookup, file.Escape);
            }
            catch (DockerfileException) { }
            try
            {
                new DockerIgnore(text.Split('\n')).IsIgnored("a/b c/d");
            }
            catch (DockerfileException) { }
        }
    }
}
