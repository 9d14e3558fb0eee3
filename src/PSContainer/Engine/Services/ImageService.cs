using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;

namespace PSContainer.Engine.Services;

/// <summary>Image operations for the front ends: list, inspect, pull, tag, remove, and docker run's pull policy.</summary>
public sealed partial class ImageService
{
    private readonly ContainerEngine engine;

    public ImageService(ContainerEngine engine) => this.engine = engine;

    public IReadOnlyList<ContainerImage> List() => engine.Images.List();

    /// <summary>By id, id prefix, tag or repository@digest (docker's resolution); ImageNotFound otherwise.</summary>
    public ContainerImage Get(string nameOrId)
    {
        ImageStore.ValidateNameOrId(nameOrId);
        return engine.Images.Get(nameOrId);
    }

    public ContainerImage? Find(string nameOrId) => engine.Images.Find(nameOrId);

    /// <summary>docker pull: from the image's registry (mirrors first), with progress per layer.</summary>
    public ContainerImage Pull(string reference, string? platform, IProgress<ProgressInfo>? progress, CancellationToken cancel) =>
        new ImagePuller(engine.Images).Pull(reference, new PullOptions { Platform = platform }, progress, cancel);

    /// <summary>docker tag SOURCE TARGET.</summary>
    public ContainerImage Tag(string source, string target)
    {
        var image = Get(source);
        engine.Images.AddTag(image, ImageReference.Parse(target));
        return engine.Images.Get(image.Id);
    }

    /// <summary>docker rmi: untags the reference, deletes the image when no tag is left (force: even if tagged more).</summary>
    public ImageStore.RemovalResult Remove(string nameOrId, bool force)
    {
        ImageStore.ValidateNameOrId(nameOrId);
        return engine.Images.Remove(nameOrId, force);
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
