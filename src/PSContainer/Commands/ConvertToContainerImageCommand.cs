using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Makes an image of a container: its changes become a new layer on top of its image (docker commit).</para>
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "ContainerImage", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerImage))]
public sealed class ConvertToContainerImageCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>The container, by name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string ContainerName { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container? Container { get; set; }

    /// <summary>The new image's name, repository[:tag]; without it the image is untagged.</summary>
    [Parameter(Position = 1)]
    public string? Name { get; set; }

    /// <summary>Dockerfile instructions applied to the new image's config (docker commit --change).</summary>
    [Parameter]
    public string[] Change { get; set; } = [];

    [Parameter]
    public string? Author { get; set; }

    [Parameter]
    public string? Message { get; set; }

    /// <summary>Do not freeze a running container while its changes are read.</summary>
    [Parameter]
    public SwitchParameter NoPause { get; set; }

    protected override void ProcessRecord()
    {
        string key = Container?.Id ?? ContainerName, shown = Container?.Name ?? ContainerName;
        if (!ShouldProcess(shown, $"Commit to image {Name ?? "(untagged)"}")) return;
        try
        {
            var image = RunWithProgress((progress, cancel) => Engine.Service.Commit(key, new CommitOptions
            {
                Reference = Name, Changes = Change, Author = Author, Message = Message, Pause = !NoPause, Progress = progress, Cancel = cancel,
            }));
            WriteObject(image);
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
