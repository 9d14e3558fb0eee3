using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>Tab completion of network names (and the modes none, host).</summary>
public sealed class NetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        var names = new List<string> { "bridge" };
        if (parameterName == "Network" && commandName is "New-Container" or "Start-Container") names.AddRange(["none", "host"]);
        try
        {
            names.AddRange(ContainerEngine.ForEnvironment().Containers.Networks.List().Select(n => n.Name));
        }
        catch (EngineException)
        {
        }
        var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase);
        foreach (string n in names.Distinct().Where(n => pattern.IsMatch(n)))
            yield return new CompletionResult(n, n, CompletionResultType.ParameterValue, n);
    }
}
