using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets containers (docker ps / docker inspect): running ones, or all with -All.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Container", DefaultParameterSetName = "ByName")]
[OutputType(typeof(Container))]
public sealed class GetContainerCommand : PSContainerCmdlet
{
    [Parameter(Position = 0, ParameterSetName = "ByName", ValueFromPipeline = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Full ids or unique prefixes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "ById", ValueFromPipelineByPropertyName = true)]
    public string[] Id { get; set; } = [];

    /// <summary>Include containers that are not running (docker ps -a). Naming a container includes it whatever its state.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    /// <summary>Only containers in these states.</summary>
    [Parameter]
    public ContainerState[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<Container> all;
        try
        {
            all = Engine.Service.ListAll();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }
        IEnumerable<Container> result;
        if (ParameterSetName == "ById")
        {
            var found = new List<Container>();
            foreach (string id in Id)
            {
                var matches = all.Where(c => c.Id.StartsWith(id, StringComparison.OrdinalIgnoreCase)).ToList();
                if (matches.Count == 0) NotFound(id);
                found.AddRange(matches);
            }
            result = found;
        }
        else if (Name is { Length: > 0 })
        {
            var found = new List<Container>();
            foreach (string name in Name)
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                var matches = all.Where(c => ContainerService.Selects(c, name, pattern.IsMatch, WildcardPattern.ContainsWildcardCharacters(name))).ToList();
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name)) NotFound(name);
                found.AddRange(matches);
            }
            result = found;
        }
        else
        {
            result = All || Status is not null ? all : all.Where(c => c.State is ContainerState.Running or ContainerState.Paused);
        }
        if (Status is not null) result = result.Where(c => Status.Contains(c.State));
        foreach (var c in result.DistinctBy(c => c.Id)) WriteObject(c);
    }

    private void NotFound(string what) =>
        WriteError(new ErrorRecord(new ItemNotFoundException($"No such container: {what}"), "ContainerNotFound", ErrorCategory.ObjectNotFound, what));
}
