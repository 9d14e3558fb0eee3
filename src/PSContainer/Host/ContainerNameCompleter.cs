using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>Tab completion of container names and short ids.</summary>
public sealed class ContainerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        IReadOnlyList<Engine.Containers.Container> containers;
        try
        {
            containers = ContainerEngine.ForEnvironment().Containers.List();
        }
        catch (EngineException)
        {
            yield break;
        }
        var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase);
        foreach (var c in containers)
        {
            if (pattern.IsMatch(c.Name)) yield return new CompletionResult(c.Name, c.Name, CompletionResultType.ParameterValue, $"{c.Name} ({c.Image}, {c.Status})");
            else if (pattern.IsMatch(c.ShortId)) yield return new CompletionResult(c.ShortId, c.ShortId, CompletionResultType.ParameterValue, $"{c.Name} ({c.Image}, {c.Status})");
        }
    }
}
