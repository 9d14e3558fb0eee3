using System.Collections.Concurrent;
using System.Diagnostics;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Registry;

/// <summary>How to pull.</summary>
public sealed class PullOptions
{
    /// <summary>os/arch[/variant] to pick from an index; null = this host (linux/&lt;arch&gt;).</summary>
    public string? Platform { get; init; }

    /// <summary>Credentials for this pull; null = the stored login (Connect-ContainerRegistry, docker login), else anonymous.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>How long a layer download may receive nothing before it fails.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>For tests: the HTTP handler to use.</summary>
    public Func<HttpMessageHandler>? HandlerFactory { get; init; }
}

/// <summary>
/// docker pull: resolves a reference on its registry (mirrors first), follows an index to the manifest for the
/// platform, verifies manifest and config digests, and hands the layers to <see cref="ImageImporter.ImportImage"/>,
/// which downloads them in parallel, verifies them and commits the image only when all are in. The image is
/// tagged with the reference (when it has a tag) and records repository@digest (the digest that was resolved).
/// </summary>
public sealed class ImagePuller
{
    private readonly ImageStore store;
    private readonly RegistrySettings settings;

    public ImagePuller(ImageStore store, RegistrySettings? settings = null)
    {
        this.store = store;
        this.settings = settings ?? RegistrySettings.Load(store.Paths);
    }

    /// <summary>
    /// The error for an image that is not in the store and could not be pulled either (docker run's "Unable to find
    /// image 'busybox:latest' locally", then why the pull failed): both facts in one message, with the reference as
    /// it was pulled (normalised), ObjectNotFound, the image as given as target, and the pull's own error inside.
    /// A reference that does not parse is the user's mistake, not a missing image: it is returned as it is.
    /// </summary>
    public static EngineException NotFoundLocallyAndNotPulled(string image, EngineException pullFailure)
    {
        if (pullFailure.ErrorId == "InvalidReference") return pullFailure;
        string shown = ImageReference.TryParse(image, defaultTag: true, out var parsed, out _) ? parsed!.ToString() : image;
        return new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, image,
            $"Unable to find image '{shown}' locally, and pulling it failed: {pullFailure.Message}", pullFailure);
    }

    public ContainerImage Pull(string reference, PullOptions? options = null, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default)
    {
        var parsed = ImageReference.Parse(reference);
        return Pull(parsed, options, progress, cancel);
    }

    public ContainerImage Pull(ImageReference reference, PullOptions? options = null, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default)
    {
        options ??= new PullOptions();
        var platform = options.Platform is { Length: > 0 } p ? PlatformSpec.Parse(p) : PlatformSpec.Host;
        string title = "Pulling " + reference.FamiliarString;
        progress?.Report(new ProgressInfo(0, title, "Resolving " + reference.FamiliarString, 0, 0));
        var clientOptions = new RegistryClientOptions { Credential = options.Credential, ReadTimeout = options.ReadTimeout, HandlerFactory = options.HandlerFactory };
        var host = settings.For(reference.Domain);

        // Mirrors first (as docker does for its registry-mirrors); any failure to resolve there falls through.
        foreach (var mirror in host.Mirrors)
        {
            cancel.ThrowIfCancellationRequested();
            var client = RegistryClient.CreateForMirror(mirror, settings, clientOptions);
            Resolved resolved;
            try
            {
                resolved = Resolve(client, reference, platform, options.Platform is { Length: > 0 }, cancel);
            }
            catch (EngineException)
            {
                client.Dispose();
                continue;
            }
            using (client) return Import(client, reference, resolved, title, progress, cancel);
        }
        using var registry = RegistryClient.Create(reference.Domain, settings, clientOptions);
        var found = Resolve(registry, reference, platform, options.Platform is { Length: > 0 }, cancel);
        return Import(registry, reference, found, title, progress, cancel);
    }

    private sealed record Resolved(Digest TopDigest, ManifestResponse Manifest, Manifest Document, byte[] Config, Digest ConfigDigest);

    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private Resolved Resolve(RegistryClient client, ImageReference reference, PlatformSpec platform, bool platformExplicit, CancellationToken cancel)
    {
        string repository = reference.Path;
        var top = Wait(client.GetManifestAsync(repository, reference.Digest?.ToString() ?? reference.Tag ?? ImageReference.DefaultTag, cancel));
        if (reference.Digest is Digest pinned && top.Digest != pinned)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidData, reference.ToString(),
                $"Registry {client.Registry} sent a manifest for {reference.FamiliarString} whose digest is {top.Digest}.");
        var manifest = top;
        for (int depth = 0; MediaTypes.IsIndex(manifest.MediaType); depth++)
        {
            if (depth > 3) throw new EngineException("IndexTooDeep", ErrorKind.InvalidData, reference.ToString(), "Image indexes are nested too deeply.");
            var index = OciJson.Parse<ImageIndex>(manifest.Bytes, "image index", reference.ToString());
            var chosen = PlatformSelector.Select(index, platform, reference.FamiliarString);
            var chosenDigest = Digest.Parse(chosen.Digest, reference.ToString());
            var next = Wait(client.GetManifestAsync(repository, chosenDigest.ToString(), cancel));
            if (next.Digest != chosenDigest)
                throw new EngineException("DigestMismatch", ErrorKind.InvalidData, chosenDigest.ToString(),
                    $"Registry {client.Registry} sent a manifest for {chosenDigest} whose digest is {next.Digest}.");
            if (chosen.Size > 0 && chosen.Size != next.Bytes.Length)
                throw new EngineException("SizeMismatch", ErrorKind.InvalidData, chosenDigest.ToString(),
                    $"Manifest {chosenDigest} is {next.Bytes.Length} bytes; the index says {chosen.Size}.");
            manifest = MediaTypes.IsManifest(next.MediaType) || MediaTypes.IsIndex(next.MediaType) || !(MediaTypes.IsManifest(chosen.MediaType) || MediaTypes.IsIndex(chosen.MediaType))
                ? next : next with { MediaType = chosen.MediaType };
        }
        if (!MediaTypes.IsManifest(manifest.MediaType))
            throw new EngineException("UnsupportedManifestMediaType", ErrorKind.InvalidData, reference.ToString(),
                $"{reference.FamiliarString} is a '{manifest.MediaType}', which is not an image manifest PSContainer can pull "
                + $"(supported: {string.Join(", ", RegistryClient.ManifestAccept)}).");
        var document = OciJson.Parse<Manifest>(manifest.Bytes, "image manifest", manifest.Digest.ToString());
        if (document.Config.MediaType is not (MediaTypes.OciConfig or MediaTypes.DockerConfig))
            throw new EngineException("UnsupportedManifestMediaType", ErrorKind.InvalidData, reference.ToString(),
                $"{reference.FamiliarString} is not a container image: its config is a '{document.Config.MediaType}'.");
        foreach (var layer in document.Layers)
        {
            if (!MediaTypes.IsLayer(layer.MediaType))
                throw new EngineException("UnsupportedMediaType", ErrorKind.InvalidData, layer.MediaType, $"Layer media type '{layer.MediaType}' is not supported.");
            Digest.Parse(layer.Digest, manifest.Digest.ToString());
        }
        var configDigest = Digest.Parse(document.Config.Digest, manifest.Digest.ToString());
        byte[] config = Wait(client.GetSmallBlobAsync(reference.Path, configDigest, document.Config.Size, 16 << 20, cancel));
        if (platformExplicit && !MediaTypes.IsIndex(top.MediaType))
        {
            var image = OciJson.Parse<ImageConfigFile>(config, "image config", configDigest.ToString());
            var actual = PlatformSpec.Normalize(image.Os, image.Architecture, image.Variant);
            if (actual.Os != platform.Os || actual.Architecture != platform.Architecture || (platform.Variant is not null && actual.Variant != platform.Variant))
                throw new EngineException("NoMatchingPlatform", ErrorKind.ObjectNotFound, reference.ToString(),
                    $"{reference.FamiliarString} is an image for {actual}, not {platform}.");
        }
        return new Resolved(top.Digest, manifest, document, config, configDigest);
    }

    private ContainerImage Import(RegistryClient client, ImageReference reference, Resolved resolved, string title, IProgress<ProgressInfo>? progress, CancellationToken cancel)
    {
        // The importer hands each download the token that stops it: cancelled on Ctrl+C and as soon as any layer of
        // the image fails, so one broken download or corrupt layer does not let the others run to their end.
        var layers = resolved.Document.Layers.Select(layer => new ImageImporter.LayerSource(
            token => Wait(client.OpenBlobAsync(reference.Path, Digest.Parse(layer.Digest), layer.Size, token)), layer)).ToList();
        var tags = new List<ImageReference>();
        if (reference.Digest is null) tags.Add(reference);
        tags.Add(reference with { Tag = null, Digest = resolved.TopDigest });
        var reporter = progress is null ? null : new TransferProgress(progress, title);
        var image = new ImageImporter(store, reporter, cancel).ImportImage(resolved.Manifest.Bytes, resolved.Manifest.MediaType, resolved.Config, resolved.ConfigDigest, layers, tags);
        progress?.Report(new ProgressInfo(0, title, "Done: " + resolved.TopDigest, 1, 1, Completed: true));
        return image;
    }
}

/// <summary>Rewrites the importer's progress for a transfer: the parent bar titled for the operation, and each layer
/// bar with its rate.</summary>
internal sealed class TransferProgress(IProgress<ProgressInfo> inner, string title) : IProgress<ProgressInfo>
{
    private readonly ConcurrentDictionary<int, Stopwatch> started = new();

    public void Report(ProgressInfo info)
    {
        var watch = started.GetOrAdd(info.Id, _ => Stopwatch.StartNew());
        if (info.Id == 0)
        {
            inner.Report(info with { Activity = title, Completed = false, Status = info.Completed ? "Verifying" : Format(info, watch) });
            return;
        }
        inner.Report(info.Completed ? info : info with { Status = Format(info, watch) });
    }

    public static string Format(ProgressInfo info, Stopwatch watch)
    {
        double seconds = watch.Elapsed.TotalSeconds;
        string rate = seconds > 0.2 && info.Done > 0 ? $", {info.Done / 1e6 / seconds:F1} MB/s" : "";
        return info.Total > 0 ? $"{info.Done / 1048576.0:F1} of {info.Total / 1048576.0:F1} MiB{rate}" : "Working" + rate;
    }
}
