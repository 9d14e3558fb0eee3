using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the processes running in a container (docker top).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerProcess", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerProcess))]
public sealed class GetContainerProcessCommand : ContainerTargetCmdlet
{
    protected override void ProcessRecord()
    {
        foreach (var (key, _) in Targets())
        {
            try
            {
                foreach (var p in Engine.Service.Top(key)) WriteObject(p);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }
}
