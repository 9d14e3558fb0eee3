using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>Tab completion of volume names.</summary>
public sealed class VolumeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        var names = new List<string>();
        try
        {
            names.AddRange(ContainerEngine.ForEnvironment().Containers.Volumes.Store.All().Select(v => v.Name));
        }
        catch (EngineException)
        {
        }
        var pattern = new WildcardPattern(WildcardPattern.Escape(prefix) + "*", WildcardOptions.IgnoreCase);
        foreach (string n in names.Where(n => pattern.IsMatch(n)))
            yield return new CompletionResult(n, n, CompletionResultType.ParameterValue, n);
    }
}
