using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Creates a container from an image without starting it (docker create).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = RunSet)]
[OutputType(typeof(Container))]
public sealed class NewContainerCommand : ContainerCreationCmdlet
{
    /// <summary>The container's name (a random docker-style name when omitted).</summary>
    [Parameter(ParameterSetName = RunSet)]
    public string? Name { get; set; }

    protected override string? NewContainerName => Name;

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Image, "Create container")) return;
        try
        {
            EnsureImage();
            var created = Engine.Service.Create(BuildOptions());
            WriteEngineWarnings();
            WriteObject(created);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
