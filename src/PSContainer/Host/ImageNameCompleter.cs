using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainer.Engine;

namespace PSContainer.Host;

/// <summary>Tab completion of image names (tags) and short ids from the store.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? "").Trim('\'', '"');
        IReadOnlyList<Engine.Images.ContainerImage> images;
        try
        {
            images = ContainerEngine.ForEnvironment().Images.List();
        }
        catch (EngineException)
        {
            yield break;
        }
        var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            foreach (string candidate in image.RepoTags.Append(image.ShortId))
            {
                if (!pattern.IsMatch(candidate) || !seen.Add(candidate)) continue;
                string text = candidate.IndexOfAny([' ', '$', '\'', '"', '`', '@', '{', '(']) >= 0 ? $"'{candidate}'" : candidate;
                yield return new CompletionResult(text, candidate, CompletionResultType.ParameterValue,
                    $"{candidate} ({image.ShortId}, {image.Architecture})");
            }
        }
    }
}
