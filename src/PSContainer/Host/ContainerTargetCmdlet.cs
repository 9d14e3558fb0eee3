using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>Cmdlets that act on existing containers: by object from the pipeline, or by name or id.</summary>
public abstract class ContainerTargetCmdlet : PSContainerCmdlet
{
    protected const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>Container names or ids (a unique id prefix works); wildcards match names.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container[] Container { get; set; } = [];

    /// <summary>The targets: objects by id, names expanded against existing containers when they hold wildcards.</summary>
    protected IEnumerable<(string Key, string Shown)> Targets()
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var c in Container) yield return (c.Id, c.Name);
            yield break;
        }
        foreach (string name in Name)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(name))
            {
                yield return (name, name);
                continue;
            }
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            IReadOnlyList<Container> all;
            try
            {
                all = Engine.Containers.List();
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
                yield break;
            }
            foreach (var c in all.Where(c => pattern.IsMatch(c.Name))) yield return (c.Id, c.Name);
        }
    }
}
