using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gives an image another name (docker tag).</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "ContainerImageTag", DefaultParameterSetName = ByName)]
[OutputType(typeof(ContainerImage))]
public sealed class AddContainerImageTagCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>The image to tag: a name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ContainerImage? Image { get; set; }

    /// <summary>The new names, repository[:tag] (":latest" when no tag is given).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string[] Tag { get; set; } = [];

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var images = Engine.Service.Images;
            var image = Image ?? images.Lookup(Name);
            foreach (string tag in Tag)
            {
                try
                {
                    images.Tag(image, tag);
                }
                catch (EngineException e)
                {
                    WriteEngineError(e);
                }
            }
            if (PassThru) WriteObject(images.Lookup(image.Id));
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}
