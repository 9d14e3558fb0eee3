using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes image tags and images, then the content no image uses any more (docker rmi).</para>
/// <para type="description">Naming a tag removes that tag, and the image when it was its last. Naming an image id,
/// or piping an image object, deletes the image; an image with several tags needs -Force for that. -Dangling and
/// -Unused remove every untagged, or every, image no container uses (docker image prune [-a]).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(ImageRemoval), typeof(ImagePruneResult))]
public sealed class RemoveContainerImageCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject", DanglingSet = "Dangling", UnusedSet = "Unused";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ContainerImage[] Image { get; set; } = [];

    /// <summary>Remove every image without a tag that no container uses (docker image prune).</summary>
    [Parameter(Mandatory = true, ParameterSetName = DanglingSet)]
    public SwitchParameter Dangling { get; set; }

    /// <summary>Remove every image no container uses, tagged or not (docker image prune -a).</summary>
    [Parameter(Mandatory = true, ParameterSetName = UnusedSet)]
    public SwitchParameter Unused { get; set; }

    /// <summary>Delete an image with several tags, or one a container uses.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write what was untagged and deleted.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName is DanglingSet or UnusedSet)
        {
            Prune(ParameterSetName == DanglingSet);
            return;
        }
        var targets = ParameterSetName == ByObject ? Image.Select(i => (Key: i.Id, Shown: i.ToString())) : Name.Select(n => (Key: n, Shown: n));
        foreach (var (key, shown) in targets)
        {
            if (!ShouldProcess(shown, "Remove container image")) continue;
            try
            {
                var result = Engine.Service.Images.Remove(key, Force);
                foreach (string u in result.Untagged) WriteVerbose($"Untagged: {u}");
                foreach (string d in result.Deleted) WriteVerbose($"Deleted: {d}");
                if (PassThru) WriteObject(new ImageRemoval(key, result.Untagged.ToArray(), result.Deleted.ToArray()));
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    /// <summary>
    /// docker image prune through the service the API serves it with (ImageService.Prune), each candidate confirmed
    /// here. Writes one ImagePruneResult with what went and the space it freed (docker's "Total reclaimed space").
    /// </summary>
    private void Prune(bool danglingOnly)
    {
        try
        {
            var report = Engine.Service.Images.Prune(new ImagePruneFilter(DanglingOnly: danglingOnly),
                image => ShouldProcess(image.ToString(), "Remove unused container image"));
            foreach (string d in report.Deleted) WriteVerbose($"Deleted: {d}");
            if (report.Deleted.Count == 0 && report.Untagged.Count == 0) return;
            WriteObject(new ImagePruneResult([.. report.Deleted], [.. report.Untagged], report.SpaceReclaimed));
        }
        catch (EngineException e)
        {
            WriteEngineError(e);
        }
    }
}

/// <summary>What Remove-ContainerImage -PassThru reports for one argument.</summary>
public sealed record ImageRemoval(string Image, string[] Untagged, string[] Deleted);

/// <summary>What Remove-ContainerImage -Dangling / -Unused removed and the space it freed.</summary>
public sealed record ImagePruneResult(string[] Deleted, string[] Untagged, long SpaceReclaimed);
