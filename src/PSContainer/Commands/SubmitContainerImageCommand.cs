using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Pushes an image to a registry (docker push).</para>
/// <para type="description">Uploads the image's blobs as stored, so its digests are the same on the registry:
/// blobs the repository already has are skipped, blobs in another repository of the same registry are mounted,
/// the rest are uploaded (monolithic, or in chunks with -ChunkSize). The image is then known under
/// repository@digest (RepoDigests). Without -Destination the image goes to the name it is given by.</para>
/// </summary>
/// <example>
///   <code>Submit-ContainerImage busybox -Destination 127.0.0.1:5000/busybox:1</code>
///   <para>Pushes the local busybox image to a registry on this host.</para>
/// </example>
/// <example>
///   <code>Get-ContainerImage app | Submit-ContainerImage -Destination registry.example:5000/team/app:2 -Credential (Get-Credential)</code>
/// </example>
[Cmdlet(VerbsLifecycle.Submit, "ContainerImage", DefaultParameterSetName = ByName, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PushResult))]
public sealed class SubmitContainerImageCommand : PSContainerCmdlet
{
    private const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>The image by name (registry/repository:tag, pushed there unless -Destination says otherwise) or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Images from Get-ContainerImage; each is pushed to -Destination, or to each of its tags.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ContainerImage[] Image { get; set; } = [];

    /// <summary>Where to push: registry[:port]/repository[:tag].</summary>
    [Parameter(Position = 1)]
    [Alias("Tag")]
    public string? Destination { get; set; }

    /// <summary>Credentials for the registry (instead of a stored login).</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Upload blobs larger than this size in PATCH chunks of this size (default: one request per blob); 5MB and Docker's 5m both work.</summary>
    [Parameter]
    [SizeTransformation]
    [ValidateRange(0, long.MaxValue)]
    public long ChunkSize { get; set; }

    /// <summary>No progress.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var image in Image) Push(image, image.Id, Destination is null ? image.RepoTags : [Destination]);
            return;
        }
        foreach (string name in Name)
        {
            ContainerImage image;
            try
            {
                image = Engine.Service.Images.Lookup(name);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
                continue;
            }
            // By name: push where the name says (docker push NAME); an id pushes to every tag.
            bool isReference = ImageReference.TryParse(name, true, out var reference, out _) && image.RepoTags.Concat(image.RepoDigests)
                .Any(t => ImageReference.TryParse(t, true, out var r, out _) && r!.Repository == reference!.Repository);
            Push(image, name, Destination is not null ? [Destination] : isReference ? [reference!.ToString()] : image.RepoTags);
        }
    }

    private void Push(ContainerImage image, string shownAs, IReadOnlyList<string> destinations)
    {
        if (destinations.Count == 0)
        {
            WriteEngineError(new EngineException("ImageHasNoName", ErrorKind.InvalidArgument, shownAs,
                $"Image {image.ShortId} has no tag to push to; give -Destination registry/repository:tag."));
            return;
        }
        foreach (string destination in destinations)
        {
            if (!ShouldProcess($"{image.ShortId} to {destination}", "Push container image")) continue;
            try
            {
                var options = new PushOptions { Credential = Credential.ToRegistryCredential(), ChunkSize = ChunkSize };
                var target = ImageReference.Parse(destination);
                var result = RunWithProgress((progress, cancel) => Engine.Service.Images.Push(image, target, options, Quiet ? null : progress, cancel));
                WriteObject(result);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
            catch (IOException e)
            {
                WriteError(new ErrorRecord(e, "PushFailed", ErrorCategory.ReadError, destination));
            }
        }
    }
}
