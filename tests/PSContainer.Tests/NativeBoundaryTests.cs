using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using PSContainer.Engine;
using Xunit;

namespace PSContainer.Tests;

/// <summary>Linux calls live in PSContainer.Native: the engine, the cmdlets and the API server reach the kernel only
/// through its named functions, so a second front end shares them and the engine stays plain C#.</summary>
public sealed class NativeBoundaryTests
{
    public static TheoryData<string> FrontAndEngineSources() => ["src/PSContainer", "src/PSContainer.Api"];

    [Theory]
    [MemberData(nameof(FrontAndEngineSources))]
    public void SourcesAboveNativeNameNoTmdsType(string folder)
    {
        string root = RepoTree.Combine(folder.Split('/'));
        var offenders = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => l.Text.Contains("Tmds.", StringComparison.Ordinal))
            .Select(l => $"{Path.GetRelativePath(RepoTree.Root, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "Move these Linux calls into PSContainer.Native:\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void EngineAssemblyReferencesNoTmdsType()
    {
        string assembly = typeof(ContainerEngine).Assembly.Location;
        using var pe = new PEReader(File.OpenRead(assembly));
        var md = pe.GetMetadataReader();
        var tmds = md.TypeReferences
            .Select(h => md.GetTypeReference(h))
            .Select(t => $"{md.GetString(t.Namespace)}.{md.GetString(t.Name)}")
            .Where(name => name.StartsWith("Tmds.", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.True(tmds.Count == 0, $"{Path.GetFileName(assembly)} uses {string.Join(", ", tmds)}; call PSContainer.Native instead.");
    }
}
