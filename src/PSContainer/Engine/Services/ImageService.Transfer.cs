using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Registry;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Services;

/// <summary>
/// Images moving in and out of the store for the front ends: pull and push with the client's own credentials (the
/// API's X-Registry-Auth, not a stored login), a login check (docker login), docker load from a stream and docker
/// save to one.
/// </summary>
public sealed partial class ImageService
{
    /// <summary>docker pull with credentials the client sent; null falls back to the stored login, as the cmdlets do.</summary>
    public ContainerImage Pull(string reference, string? platform, RegistryCredential? credential, IProgress<ProgressInfo>? progress, CancellationToken cancel) =>
        Pull(reference, new PullOptions { Platform = platform, Credential = credential }, progress, cancel);

    /// <summary>
    /// What docker push REPOSITORY[:TAG] sends: the image of that tag, or with no tag every tag of the repository
    /// (docker push --all-tags). None is ImageNotFound with dockerd's wording.
    /// </summary>
    public IReadOnlyList<(ImageReference Destination, ContainerImage Image)> PushTargets(string repository, string? tag)
    {
        ImageStore.ValidateNameOrId(repository);
        var repo = ImageReference.Parse(repository, defaultTag: false);
        tag ??= repo.Tag ?? repo.Digest?.ToString();
        if (tag is not null)
        {
            var destination = tag.StartsWith("sha256:", StringComparison.Ordinal) ? repo with { Tag = null, Digest = Digest.Parse(tag, repository) } : repo.WithTag(tag);
            var image = Find(destination.ToString())
                        ?? throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, destination.FamiliarString,
                            $"An image does not exist locally with the tag: {destination.FamiliarString}");
            return [(destination, image)];
        }
        var all = new List<(ImageReference, ContainerImage)>();
        foreach (var image in List())
            foreach (string t in image.RepoTags)
                if (ImageReference.TryParse(t, false, out var r, out _) && r!.Repository == repo.Repository) all.Add((r, image));
        if (all.Count == 0)
            throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, repo.FamiliarRepository,
                $"An image does not exist locally with the tag: {repo.FamiliarRepository}");
        return all;
    }

    /// <summary>docker push: one image to one destination, with the client's credentials (null: the stored login).</summary>
    public PushResult Push(ContainerImage image, ImageReference destination, RegistryCredential? credential, IProgress<ProgressInfo>? progress, CancellationToken cancel) =>
        Push(image, destination, new PushOptions { Credential = credential }, progress, cancel);

    /// <summary>docker push with every option the engine has (Submit-ContainerImage's); records the push event.</summary>
    public PushResult Push(ContainerImage image, ImageReference destination, PushOptions options, IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        var result = new ImagePusher(engine.Images).Push(image, destination, options, progress, cancel);
        events.ImageReferenced("push", destination, image);
        return result;
    }

    /// <summary>Bytes of the image's manifest: the "size" docker prints after a push's digest.</summary>
    public long ManifestSize(ContainerImage image) => engine.Images.Blobs.SizeOf(Digest.Parse(image.ManifestDigest, image.Id));

    /// <summary>docker login as dockerd does it: the registry accepts the credentials (nothing is stored here; the client keeps them).</summary>
    public string VerifyLogin(string registry, RegistryCredential credential, CancellationToken cancel)
    {
        string name = CredentialStore.NormalizeRegistry(registry);
        using var client = RegistryClient.Create(name, RegistrySettings.Load(engine.Paths), new RegistryClientOptions { Credential = credential });
        client.VerifyLoginAsync(cancel).GetAwaiter().GetResult();
        return name;
    }

    /// <summary>
    /// docker load: the archive (docker save's format, OCI-based or legacy, optionally compressed) is spooled to the
    /// store's temp directory, because the importer reads archives by offset, then imported all-or-nothing; a cut or
    /// damaged archive leaves no image and no temp file.
    /// </summary>
    public IReadOnlyList<ContainerImage> Load(Stream archive, CancellationToken cancel)
    {
        Directory.CreateDirectory(engine.Paths.Temp);
        string temp = Path.Combine(engine.Paths.Temp, TempOwner.NewName("load", ".tar"));
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 17))
                archive.CopyToAsync(file, 1 << 17, cancel).GetAwaiter().GetResult();
            if (new FileInfo(temp).Length == 0)
                throw new EngineException("ImportEmptyArchive", ErrorKind.InvalidData, "load", "The archive to load is empty.");
            var loaded = new ImageImporter(engine.Images, null, cancel).Import(temp, ImageArchiveFormat.DockerArchive, [], null);
            foreach (var image in loaded) events.Image("load", image.Id, image.Id, image);
            return loaded;
        }
        catch (EngineException e) when (e.Message.Contains(temp, StringComparison.Ordinal))
        {
            // The spool file is ours, not the client's: its errors name the archive that was sent.
            throw new EngineException(e.ErrorId, e.Kind, "archive", e.Message.Replace($"'{temp}'", "The archive", StringComparison.Ordinal)
                .Replace(temp, "the archive", StringComparison.Ordinal), e);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// What docker save NAME... writes: an image named by a tag goes under that tag, one named by id under all its
    /// tags. Every name is resolved before a byte is written, so a missing one is an error, not a cut archive.
    /// </summary>
    public IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> SaveSelection(IEnumerable<string> names)
    {
        var selected = new List<(ContainerImage, IReadOnlyList<ImageReference>)>();
        foreach (string name in names)
        {
            var image = Get(name);
            selected.Add((image, SavedNames(image, name)));
        }
        if (selected.Count == 0) throw new EngineException("NoImageNamed", ErrorKind.InvalidArgument, "names", "No image to save was named.");
        return selected;
    }

    /// <summary>
    /// The names an image is saved under, as docker save names them: the tag it was asked by, if it is one of its
    /// tags; else (asked by id, digest, or not asked by name at all) every tag it has.
    /// </summary>
    public static IReadOnlyList<ImageReference> SavedNames(ContainerImage image, string? askedBy)
    {
        bool byTag = askedBy is not null && image.RepoTags.Length > 0 && ImageReference.TryParse(askedBy, true, out var r, out _) && r!.Digest is null
                     && image.RepoTags.Any(t => ImageReference.Parse(t).ToString() == r.ToString());
        return byTag ? [ImageReference.Parse(askedBy!)] : image.RepoTags.Select(t => ImageReference.Parse(t)).ToList();
    }

    /// <summary>docker save to a stream: the engine's docker-archive exporter (docker load, podman load, skopeo read it).</summary>
    public void Save(IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> selection, Stream output, CancellationToken cancel)
    {
        new ImageExporter(engine.Images, null, cancel).Write(selection, output, ImageExportFormat.DockerArchive);
        RecordSaves(selection);
    }

    private void RecordSaves(IReadOnlyList<(ContainerImage Image, IReadOnlyList<ImageReference> Names)> selection)
    {
        foreach (var image in selection.Select(s => s.Image).DistinctBy(i => i.Id)) events.Image("save", image.Id, image.Id, image);
    }
}
