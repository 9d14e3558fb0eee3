using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Native;

namespace PSContainer.Engine.Registry;

/// <summary>How to push.</summary>
public sealed class PushOptions
{
    /// <summary>Credentials for this push; null = the stored login.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>Blobs larger than this go up in PATCH chunks of this size; 0 (default) = one monolithic PUT each.</summary>
    public long ChunkSize { get; init; }

    /// <summary>How many blobs go up at once.</summary>
    public int Parallelism { get; init; } = 3;

    /// <summary>For tests: the HTTP handler to use.</summary>
    public Func<HttpMessageHandler>? HandlerFactory { get; init; }
}

/// <summary>What a push did.</summary>
public sealed class PushResult
{
    /// <summary>Where the image went (registry/repository:tag).</summary>
    public string Reference { get; init; } = "";
    /// <summary>The manifest digest the registry serves it under.</summary>
    public string Digest { get; init; } = "";
    public string MediaType { get; init; } = "";
    /// <summary>Bytes of the manifest, config and layers (what a pull transfers).</summary>
    public long Size { get; init; }
    public int Uploaded { get; init; }
    public int Mounted { get; init; }
    public int Skipped { get; init; }
    public string ImageId { get; init; } = "";

    public override string ToString() => $"{Reference}@{Digest}";
}

/// <summary>
/// docker push: uploads an image's config and layer blobs as stored (so digests survive), skipping blobs the
/// repository has (HEAD), mounting blobs from another repository of the same registry that the image came from or
/// went to, then PUTs the manifest with its media type and records repository@digest on the image.
/// </summary>
public sealed class ImagePusher
{
    private readonly ImageStore store;
    private readonly RegistrySettings settings;

    public ImagePusher(ImageStore store, RegistrySettings? settings = null)
    {
        this.store = store;
        this.settings = settings ?? RegistrySettings.Load(store.Paths);
    }

    public PushResult Push(ContainerImage image, string destination, PushOptions? options = null, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default) =>
        Push(image, ImageReference.Parse(destination), options, progress, cancel);

    public PushResult Push(ContainerImage image, ImageReference destination, PushOptions? options = null, IProgress<ProgressInfo>? progress = null, CancellationToken cancel = default)
    {
        options ??= new PushOptions();
        var manifestDigest = Digest.Parse(image.ManifestDigest, image.Id);
        byte[] manifestBytes = store.Blobs.ReadAll(manifestDigest);
        if (destination.Digest is Digest wanted && wanted != manifestDigest)
            throw new EngineException("DigestMismatch", ErrorKind.InvalidArgument, destination.ToString(),
                $"Image {image.ShortId} has manifest {manifestDigest}, not {wanted}; push it to a tag instead.");
        var manifest = OciJson.Parse<Manifest>(manifestBytes, "image manifest", image.Id);
        var blobs = manifest.Layers.Prepend(manifest.Config).Select(d => (Descriptor: d, Digest: Digest.Parse(d.Digest, image.Id))).ToList();
        foreach (var (_, digest) in blobs)
            if (!store.Blobs.Has(digest))
                throw new EngineException("BlobNotFound", ErrorKind.ObjectNotFound, digest.ToString(), $"Blob {digest} of image {image.ShortId} is missing from the store.");

        // Repositories of the same registry the image is known in: blobs can be mounted from there.
        var mountSources = image.RepoTags.Concat(image.RepoDigests)
            .Select(n => ImageReference.TryParse(n, false, out var r, out _) ? r : null)
            .Where(r => r is not null && r.Domain == destination.Domain && r.Path != destination.Path)
            .Select(r => r!.Path).Distinct().ToList();

        string title = "Pushing " + destination.FamiliarString;
        long total = blobs.Sum(b => b.Descriptor.Size);
        long done = 0;
        int uploaded = 0, mounted = 0, skipped = 0;
        progress?.Report(new ProgressInfo(0, title, "Preparing", 0, total));
        using var client = RegistryClient.Create(destination.Domain, settings,
            new RegistryClientOptions { Credential = options.Credential, HandlerFactory = options.HandlerFactory });
        string repository = destination.Path;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancel };
        try
        {
            Parallel.ForEachAsync(blobs.Select((b, i) => (b.Descriptor, b.Digest, Id: i)), parallel, async (blob, ct) =>
            {
                string activity = (blob.Id == 0 ? "Config " : "Layer ") + blob.Digest.Short;
                long size = store.Blobs.SizeOf(blob.Digest);
                void Finish(string status, ref int counter)
                {
                    Interlocked.Increment(ref counter);
                    long now = Interlocked.Add(ref done, size);
                    progress?.Report(new ProgressInfo(blob.Id + 1, activity, status, size, size, Completed: true));
                    progress?.Report(new ProgressInfo(0, title, $"{now / 1048576.0:F1} of {total / 1048576.0:F1} MiB", now, total));
                }
                progress?.Report(new ProgressInfo(blob.Id + 1, activity, "Checking", 0, size));
                if (await client.BlobExistsAsync(repository, blob.Digest, [RegistryClient.PushScope(repository)], ct).ConfigureAwait(false))
                {
                    Finish("Layer already exists", ref skipped);
                    return;
                }
                Uri? location = null;
                foreach (string from in mountSources)
                {
                    var start = await client.StartUploadAsync(repository, blob.Digest, from, ct).ConfigureAwait(false);
                    if (start.Mounted)
                    {
                        Finish("Mounted from " + from, ref mounted);
                        return;
                    }
                    location = start.Location;
                    break;
                }
                location ??= (await client.StartUploadAsync(repository, null, null, ct).ConfigureAwait(false)).Location!;
                var watch = System.Diagnostics.Stopwatch.StartNew();
                long sent = 0, lastReport = 0;
                void Sent(long n)
                {
                    long now = Interlocked.Add(ref sent, n);
                    long all = Interlocked.Add(ref done, n);
                    if (watch.ElapsedMilliseconds - Interlocked.Read(ref lastReport) < 200) return;
                    Interlocked.Exchange(ref lastReport, watch.ElapsedMilliseconds);
                    var info = new ProgressInfo(blob.Id + 1, activity, "", now, size);
                    progress?.Report(info with { Status = TransferProgress.Format(info, watch) });
                    progress?.Report(new ProgressInfo(0, title, $"{all / 1048576.0:F1} of {total / 1048576.0:F1} MiB", all, total));
                }
                Stream Open(long offset, long length)
                {
                    return new CountingStream(new WindowStream(store.Blobs.Open(blob.Digest), offset, length), Sent);
                }
                if (options.ChunkSize > 0 && size > options.ChunkSize)
                    await client.UploadChunkedAsync(repository, location, blob.Digest, size, options.ChunkSize, Open, ct).ConfigureAwait(false);
                else
                    await client.UploadMonolithicAsync(repository, location, blob.Digest, size, () => Open(0, size), ct).ConfigureAwait(false);
                Interlocked.Add(ref done, size - Interlocked.Read(ref sent));
                Interlocked.Increment(ref uploaded);
                progress?.Report(new ProgressInfo(blob.Id + 1, activity, "Pushed", size, size, Completed: true));
            }).GetAwaiter().GetResult();

            string tagOrDigest = destination.Tag ?? destination.Digest?.ToString() ?? ImageReference.DefaultTag;
            progress?.Report(new ProgressInfo(0, title, "Writing manifest", total, total));
            var digest = client.PutManifestAsync(repository, tagOrDigest, manifestBytes, image.ManifestMediaType, cancel).GetAwaiter().GetResult();
            store.AddRepoDigest(image, destination with { Tag = null, Digest = digest });
            progress?.Report(new ProgressInfo(0, title, "Done: " + digest, total, total, Completed: true));
            return new PushResult
            {
                Reference = (destination with { Digest = null, Tag = destination.Tag ?? (destination.Digest is null ? ImageReference.DefaultTag : null) }).ToString(),
                Digest = digest.ToString(),
                MediaType = image.ManifestMediaType,
                Size = total + manifestBytes.Length,
                Uploaded = uploaded,
                Mounted = mounted,
                Skipped = skipped,
                ImageId = image.Id,
            };
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.OfType<EngineException>().FirstOrDefault() ?? e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}

/// <summary>A read-only pass-through that reports how many bytes were read.</summary>
internal sealed class CountingStream(Stream inner, Action<long> onRead) : ReadOnlyStream
{
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n > 0) onRead(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (n > 0) onRead(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Length => inner.Length;

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
