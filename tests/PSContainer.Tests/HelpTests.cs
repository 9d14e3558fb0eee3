using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using PSContainer.Host;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// The MAML help (src/PSContainer/en-US/PSContainer.dll-Help.xml) against the cmdlets themselves, so help cannot
/// silently fall behind the code: every cmdlet has an entry with a synopsis, examples and exactly its parameters.
/// </summary>
public sealed class HelpTests
{
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    private static readonly XNamespace Msh = "http://msh";

    private static readonly Lazy<XDocument> Document = new(() => XDocument.Load(HelpFile));

    public static string HelpFile => RepoTree.Combine("src", "PSContainer", "en-US", "PSContainer.dll-Help.xml");

    public static TheoryData<string> Cmdlets()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in CmdletTypes()) data.Add(name);
        return data;
    }

    private static IEnumerable<(string Name, Type Type)> CmdletTypes() =>
        typeof(PSContainerCmdlet).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.GetCustomAttribute<CmdletAttribute>() is not null)
            .Select(t => (Name: $"{t.GetCustomAttribute<CmdletAttribute>()!.VerbName}-{t.GetCustomAttribute<CmdletAttribute>()!.NounName}", Type: t))
            .OrderBy(c => c.Name, StringComparer.Ordinal);

    private static Type TypeOf(string cmdlet) => CmdletTypes().Single(c => c.Name == cmdlet).Type;

    private static XElement Entry(string cmdlet)
    {
        var entries = Document.Value.Root!.Elements(Command + "command")
            .Where(c => (string?)c.Element(Command + "details")?.Element(Command + "name") == cmdlet).ToList();
        Assert.True(entries.Count == 1, $"{cmdlet}: {entries.Count} help entries in {HelpFile} (expected one)");
        return entries[0];
    }

    /// <summary>The cmdlet's own parameters: public properties with [Parameter], declared or inherited.</summary>
    private static Dictionary<string, (PropertyInfo Property, ParameterAttribute[] Attributes)> Parameters(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Attributes: p.GetCustomAttributes<ParameterAttribute>().ToArray()))
            .Where(p => p.Attributes.Length > 0)
            .ToDictionary(p => p.Property.Name, StringComparer.Ordinal);

    private static string Text(XElement? description) =>
        string.Join(" ", description?.Elements(Maml + "para").Select(p => p.Value.Trim()) ?? []).Trim();

    [Fact]
    public void TheHelpFileIsMamlForABinaryModule()
    {
        Assert.True(File.Exists(HelpFile), $"{HelpFile} is missing");
        var root = Document.Value.Root!;
        Assert.Equal(Msh + "helpItems", root.Name);
        Assert.Equal("maml", (string?)root.Attribute("schema"));
        // PowerShell finds help for a binary module by the cmdlet's assembly: <dll>-Help.xml.
        Assert.Equal(typeof(PSContainerCmdlet).Assembly.GetName().Name + ".dll-Help.xml", Path.GetFileName(HelpFile));
        Assert.NotEmpty(root.Elements(Command + "command"));
    }

    [Fact]
    public void EveryCmdletIsCoveredAndNothingElse()
    {
        var cmdlets = CmdletTypes().Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        Assert.True(cmdlets.Count > 0);
        var documented = Document.Value.Root!.Elements(Command + "command")
            .Select(c => (string)c.Element(Command + "details")!.Element(Command + "name")!).ToList();
        Assert.Equal(documented.Count, documented.Distinct(StringComparer.Ordinal).Count());
        var missing = cmdlets.Except(documented).Order(StringComparer.Ordinal).ToList();
        var stale = documented.Except(cmdlets).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, "No help for: " + string.Join(", ", missing));
        Assert.True(stale.Count == 0, "Help for cmdlets that do not exist: " + string.Join(", ", stale));
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void HasSynopsisDescriptionAndExamples(string cmdlet)
    {
        var entry = Entry(cmdlet);
        var attribute = TypeOf(cmdlet).GetCustomAttribute<CmdletAttribute>()!;
        var details = entry.Element(Command + "details")!;
        Assert.Equal(attribute.VerbName, (string?)details.Element(Command + "verb"));
        Assert.Equal(attribute.NounName, (string?)details.Element(Command + "noun"));
        Assert.False(string.IsNullOrWhiteSpace(Text(details.Element(Maml + "description"))), $"{cmdlet}: no synopsis");
        Assert.False(string.IsNullOrWhiteSpace(Text(entry.Element(Maml + "description"))), $"{cmdlet}: no description");

        var examples = entry.Element(Command + "examples")?.Elements(Command + "example").ToList() ?? [];
        Assert.True(examples.Count >= 1, $"{cmdlet}: no examples");
        foreach (var example in examples)
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)example.Element(Maml + "title")), $"{cmdlet}: an example without a title");
            string code = (string?)example.Element(Dev + "code") ?? "";
            Assert.False(string.IsNullOrWhiteSpace(code), $"{cmdlet}: an example without code");
            Assert.Contains(cmdlet, code, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(Text(example.Element(Dev + "remarks"))), $"{cmdlet}: an example without remarks");
        }
        Assert.NotEmpty(entry.Element(Command + "returnValues")?.Elements(Command + "returnValue") ?? []);
        Assert.NotEmpty(entry.Element(Command + "inputTypes")?.Elements(Command + "inputType") ?? []);
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void DocumentsExactlyTheParametersTheCmdletHas(string cmdlet)
    {
        var type = TypeOf(cmdlet);
        var parameters = Parameters(type);
        bool shouldProcess = type.GetCustomAttribute<CmdletAttribute>()!.SupportsShouldProcess;
        var expected = parameters.Keys.ToHashSet(StringComparer.Ordinal);
        if (shouldProcess) expected.UnionWith(["WhatIf", "Confirm"]);

        var documented = (Entry(cmdlet).Element(Command + "parameters")?.Elements(Command + "parameter") ?? [])
            .Select(p => (string)p.Element(Maml + "name")!).ToList();
        Assert.Equal(documented.Count, documented.Distinct(StringComparer.Ordinal).Count());
        var missing = expected.Except(documented).Order(StringComparer.Ordinal).ToList();
        var extra = documented.Except(expected).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"{cmdlet}: parameters without help: {string.Join(", ", missing)}");
        Assert.True(extra.Count == 0, $"{cmdlet}: help for parameters that do not exist: {string.Join(", ", extra)}");

        // The syntax must not mention parameters that are gone either.
        foreach (var item in Entry(cmdlet).Element(Command + "syntax")?.Elements(Command + "syntaxItem") ?? [])
        {
            Assert.Equal(cmdlet, (string?)item.Element(Maml + "name"));
            foreach (string name in item.Elements(Command + "parameter").Select(p => (string)p.Element(Maml + "name")!))
                Assert.True(expected.Contains(name), $"{cmdlet}: the syntax has -{name}, which the cmdlet does not");
        }
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void ParameterDetailsMatchTheCode(string cmdlet)
    {
        var entry = Entry(cmdlet);
        foreach (var (name, (property, attributes)) in Parameters(TypeOf(cmdlet)))
        {
            var help = entry.Element(Command + "parameters")!.Elements(Command + "parameter").Single(p => (string)p.Element(Maml + "name")! == name);
            Assert.False(string.IsNullOrWhiteSpace(Text(help.Element(Maml + "description"))), $"{cmdlet} -{name}: no description");

            bool required = attributes.Any(a => a.Mandatory);
            Assert.True(required == ((string?)help.Attribute("required") == "true"), $"{cmdlet} -{name}: required is {required} in the code");

            int[] positions = attributes.Where(a => a.Position >= 0).Select(a => a.Position).Distinct().ToArray();
            string position = (string?)help.Attribute("position") ?? "";
            if (positions.Length == 0) Assert.True(position == "named", $"{cmdlet} -{name}: not positional in the code, help says {position}");
            else Assert.True(positions.Contains(int.TryParse(position, out int p) ? p : -1), $"{cmdlet} -{name}: position {string.Join("/", positions)} in the code, help says {position}");

            string pipeline = (string?)help.Attribute("pipelineInput") ?? "";
            bool byValue = attributes.Any(a => a.ValueFromPipeline), byName = attributes.Any(a => a.ValueFromPipelineByPropertyName);
            Assert.True(byValue == pipeline.Contains("ByValue", StringComparison.Ordinal), $"{cmdlet} -{name}: ValueFromPipeline is {byValue}, help says '{pipeline}'");
            Assert.True(byName == pipeline.Contains("ByPropertyName", StringComparison.Ordinal), $"{cmdlet} -{name}: ValueFromPipelineByPropertyName is {byName}, help says '{pipeline}'");
            Assert.True((byValue || byName) == pipeline.StartsWith("True", StringComparison.OrdinalIgnoreCase), $"{cmdlet} -{name}: help says '{pipeline}'");

            // The type as Get-Help shows it (String[], Int64 for long?, SwitchParameter).
            Type t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            Assert.Equal(t.Name, (string?)help.Element(Command + "parameterValue"));
            Assert.Equal(t.FullName, (string?)help.Element(Dev + "type")?.Element(Maml + "name"));

            string[] aliases = property.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).Order(StringComparer.Ordinal).ToArray();
            string helpAliases = (string?)help.Attribute("aliases") ?? "none";
            Assert.Equal(aliases, helpAliases == "none" ? [] : helpAliases.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void HasASyntaxItemPerParameterSet(string cmdlet)
    {
        var type = TypeOf(cmdlet);
        var sets = Parameters(type).Values.SelectMany(p => p.Attributes).Select(a => a.ParameterSetName)
            .Where(s => s != ParameterAttribute.AllParameterSets).Distinct(StringComparer.Ordinal).Count();
        var items = Entry(cmdlet).Element(Command + "syntax")?.Elements(Command + "syntaxItem").ToList() ?? [];
        Assert.Equal(Math.Max(1, sets), items.Count);
    }
}
