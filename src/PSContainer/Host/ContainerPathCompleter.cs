using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSContainer.Host;

/// <summary>
/// Completes the CONTAINER: half of Copy-ContainerItem's paths with container names followed by a colon; a word
/// that already has a colon or looks like a host path (starts with / . ~) gets PowerShell's own file completion.
/// </summary>
public sealed class ContainerPathCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        if (word.Contains(':') || word.StartsWith('/') || word.StartsWith('.') || word.StartsWith('~') || word.Contains('/'))
            return CompletionCompleters.CompleteFilename(word);
        var names = new ContainerNameCompleter().CompleteArgument(commandName, parameterName, word, commandAst, fakeBoundParameters)
            .Select(r => new CompletionResult(r.CompletionText + ":", r.ListItemText + ":", CompletionResultType.ParameterValue, r.ToolTip))
            .ToList();
        return names.Concat(CompletionCompleters.CompleteFilename(word)).ToList();
    }
}
