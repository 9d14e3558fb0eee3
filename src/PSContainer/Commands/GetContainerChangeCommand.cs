using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the paths a container added, changed or deleted in its image's file system (docker diff).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerChange", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerChange))]
public sealed class GetContainerChangeCommand : ContainerTargetCmdlet
{
    /// <summary>Only changes of these kinds.</summary>
    [Parameter]
    public ChangeKind[] Kind { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var (key, _) in Targets())
        {
            try
            {
                foreach (var change in Engine.Service.Changes(key))
                    if (Kind.Length == 0 || Kind.Contains(change.Kind)) WriteObject(change);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
