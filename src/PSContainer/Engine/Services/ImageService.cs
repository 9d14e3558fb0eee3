using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;

namespace PSContainer.Engine.Services;

/// <summary>Image operations for the front ends: list, inspect, pull, tag, remove, and docker run's pull policy.</summary>
public sealed partial class ImageService
{
    private readonly ContainerEngine engine;
    private readonly ObjectEvents events;

    public ImageService(ContainerEngine engine)
    {
        this.engine = engine;
        events = new ObjectEvents(engine);
    }

    public IReadOnlyList<ContainerImage> List() => engine.Images.List();

    /// <summary>By id, id prefix, tag or repository@digest (docker's resolution); ImageNotFound otherwise.</summary>
    public ContainerImage Get(string nameOrId)
    {
        ImageStore.ValidateNameOrId(nameOrId);
        return engine.Images.Get(nameOrId);
    }

    public ContainerImage? Find(string nameOrId) => engine.Images.Find(nameOrId);

    /// <summary>As <see cref="Get"/>, without the reference check first: the cmdlets' errors for a name that is no
    /// valid reference are the store's own.</summary>
    public ContainerImage Lookup(string nameOrId) => engine.Images.Get(nameOrId);

    /// <summary>docker pull: from the image's registry (mirrors first), with progress per layer.</summary>
    public ContainerImage Pull(string reference, string? platform, IProgress<ProgressInfo>? progress, CancellationToken cancel) =>
        Pull(reference, new PullOptions { Platform = platform }, progress, cancel);

    /// <summary>docker pull with every option the engine has (Request-ContainerImage's); records the pull event.</summary>
    public ContainerImage Pull(string reference, PullOptions options, IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        var image = new ImagePuller(engine.Images).Pull(reference, options, progress, cancel);
        events.ImageReferenced("pull", ImageReference.Parse(reference), image);
        return image;
    }

    /// <summary>docker tag SOURCE TARGET.</summary>
    public ContainerImage Tag(string source, string target) => Tag(Get(source), target);

    /// <summary>Add-ContainerImageTag's: the image as it is after the tag.</summary>
    public ContainerImage Tag(ContainerImage image, string target)
    {
        var reference = ImageReference.Parse(target);
        engine.Images.AddTag(image, reference);
        var tagged = engine.Images.Get(image.Id);
        events.Image("tag", tagged.Id, reference.FamiliarString, tagged);
        return tagged;
    }

    /// <summary>docker rmi: untags the reference, deletes the image when no tag is left (force: even if tagged more).</summary>
    public ImageStore.RemovalResult Remove(string nameOrId, bool force)
    {
        ImageStore.ValidateNameOrId(nameOrId);
        return RemoveAndRecord(nameOrId, force);
    }

    /// <summary>The removal with dockerd's events: untag for each tag taken off, delete for each image deleted.</summary>
    private ImageStore.RemovalResult RemoveAndRecord(string nameOrId, bool force)
    {
        var image = engine.Images.Find(nameOrId);
        var result = engine.Images.Remove(nameOrId, force);
        if (image is not null)
            foreach (string _ in result.Untagged) events.Image("untag", image.Id, image.Id, image);
        foreach (string deleted in result.Deleted) events.Image("delete", deleted, deleted, deleted == image?.Id ? image : null);
        return result;
    }

    /// <summary>
    /// Makes sure the image is in the store, pulling it as <paramref name="pull"/> says (missing, always, never). A
    /// missing image whose pull fails is reported with both facts, as docker run does.
    /// </summary>
    public void EnsureImage(string image, string pull, string? platform, IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        if (pull is not ("missing" or "always" or "never"))
            throw new EngineException("InvalidPullPolicy", ErrorKind.InvalidArgument, pull, $"Invalid pull policy '{pull}': missing, always or never.");
        ImageStore.ValidateNameOrId(image);
        bool have = Find(image) is not null;
        if (pull == "never" || (pull == "missing" && have)) return;
        try
        {
            Pull(image, platform, progress, cancel);
        }
        catch (EngineException e) when (!have)
        {
            throw ImagePuller.NotFoundLocallyAndNotPulled(image, e);
        }
    }
}
