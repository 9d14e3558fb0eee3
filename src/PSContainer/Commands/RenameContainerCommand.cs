using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gives a container a new name (docker rename).</para>
/// </summary>
[Cmdlet(VerbsCommon.Rename, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
[OutputType(typeof(Container))]
public sealed class RenameContainerCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>The container's current name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container? Container { get; set; }

    /// <summary>The new name.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string NewName { get; set; } = "";

    /// <summary>Write the renamed container.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string key = ParameterSetName == ByObject ? Container!.Id : Name;
        string shown = ParameterSetName == ByObject ? Container!.Name : Name;
        if (!ShouldProcess(shown, $"Rename container to {NewName}")) return;
        try
        {
            var renamed = Engine.Service.Rename(key, NewName);
            if (PassThru) WriteObject(renamed);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
