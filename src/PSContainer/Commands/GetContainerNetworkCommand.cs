using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Networks;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets container networks (docker network ls / inspect).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerNetwork")]
[OutputType(typeof(ContainerNetwork))]
public sealed class GetContainerNetworkCommand : PSContainerCmdlet
{
    /// <summary>Names or ids; wildcards match names.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerNetwork> all;
        try
        {
            all = Engine.Service.Networks.ListRecorded();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }
        if (Name is not { Length: > 0 })
        {
            WriteObject(all, enumerateCollection: true);
            return;
        }
        foreach (string name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            var matches = all.Where(n => pattern.IsMatch(n.Name) || (!WildcardPattern.ContainsWildcardCharacters(name) && name.Length >= 4 && n.Id.StartsWith(name, StringComparison.Ordinal))).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteEngineError(new EngineException("NetworkNotFound", ErrorKind.ObjectNotFound, name, $"Network '{name}' not found."));
            WriteObject(matches, enumerateCollection: true);
        }
    }
}
