using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Volumes;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets volumes with the containers that use them (docker volume ls / inspect).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerVolume")]
[OutputType(typeof(ContainerVolume))]
public sealed class GetContainerVolumeCommand : PSContainerCmdlet
{
    /// <summary>Names; wildcards allowed.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Also measure the bytes each volume holds (walks its files).</summary>
    [Parameter]
    public SwitchParameter Size { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerVolume> all;
        try
        {
            all = Engine.Service.Volumes.List(size: false);
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }
        var wanted = new List<ContainerVolume>();
        if (Name is not { Length: > 0 }) wanted.AddRange(all);
        else
        {
            foreach (string name in Name)
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                var matches = all.Where(v => pattern.IsMatch(v.Name)).ToList();
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                    WriteEngineError(VolumeManager.NotFound(name));
                wanted.AddRange(matches);
            }
        }
        foreach (var v in wanted)
        {
            try
            {
                WriteObject(Size ? Engine.Service.Volumes.Get(v.Name, size: true) : v);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
