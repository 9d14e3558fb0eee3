using System.Diagnostics;
using System.Runtime.ExceptionServices;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Images;

/// <summary>The layers of an image, read, verified and unpacked in parallel into tmp/ until the image commits.</summary>
public sealed partial class ImageImporter
{
    /// <summary>Layers worked on at once. Each has a reading thread (network or archive, SHA-256, the blob's file) and
    /// an unpacking one (inflate, diff id, files); four keep two cores busy while one layer waits on the network.</summary>
    private static int LayerConcurrency => Math.Clamp(Environment.ProcessorCount, 4, 8);

    private sealed record LayerInput(Func<CancellationToken, Stream> Open, Digest? ExpectedBlob, long? ExpectedSize, string? MediaType, long ProgressTotal, string Label)
    {
        /// <summary>A layer read from a local file or archive, which needs no token to stop.</summary>
        public LayerInput(Func<Stream> open, Digest? expectedBlob, long? expectedSize, string? mediaType, long progressTotal, string label)
            : this(_ => open(), expectedBlob, expectedSize, mediaType, progressTotal, label) { }
    }

    private sealed record ImportedLayer(Digest BlobDigest, long BlobSize, string MediaType, Digest DiffId, Digest ChainId, long UnpackedSize);

    /// <summary>A verified layer whose blob and unpacked directory are still in tmp/, not yet visible.</summary>
    private sealed class StagedLayer(BlobStore.PendingBlob? blob, LayerStore.PendingLayer? layer, ImportedLayer result, Digest? parent, long entries) : IDisposable
    {
        public ImportedLayer Result => result;

        public ImportedLayer Commit(ImageStore store)
        {
            blob?.Commit(result.BlobDigest);
            layer?.Commit(result.ChainId);
            if (blob is not null || layer is not null)
                store.RecordLayer(result.ChainId, result.DiffId, parent, result.UnpackedSize, entries);
            return result with { UnpackedSize = store.LayerSize(result.ChainId) ?? result.UnpackedSize };
        }

        public void Dispose()
        {
            blob?.Dispose();
            layer?.Dispose();
        }
    }

    /// <summary>
    /// Stages every layer on its own worker thread (not the thread pool: the workers block on reads, and the pool's
    /// few threads on a small machine are what the downloads' continuations run on). The first layer that fails
    /// stops the others (their token is cancelled, which also breaks off their downloads); every layer staged so
    /// far is then discarded and that first failure is thrown. Nothing of any layer remains.
    /// </summary>
    private StagedLayer[] StageLayers(int count, Func<int, CancellationToken, StagedLayer> stage)
    {
        var staged = new StagedLayer?[count];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        Exception? first = null;
        int next = -1;
        void Work()
        {
            int i;
            while (!stop.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    staged[i] = stage(i, stop.Token);
                }
                catch (Exception e)
                {
                    // A layer stopped because another failed reports that cancellation, not its own problem.
                    if (e is not OperationCanceledException || cancel.IsCancellationRequested)
                        Interlocked.CompareExchange(ref first, e, null);
                    stop.Cancel();
                }
            }
        }
        var workers = Enumerable.Range(0, Math.Max(0, Math.Min(count, LayerConcurrency) - 1))
            .Select(_ => new Thread(Work) { IsBackground = true, Name = "psc-layer" }).ToList();
        foreach (var worker in workers) worker.Start();
        Work();
        foreach (var worker in workers) worker.Join();
        if (first is null && stop.IsCancellationRequested) first = new OperationCanceledException(cancel);
        if (first is not null)
        {
            foreach (var layer in staged) layer?.Dispose();
            ExceptionDispatchInfo.Capture(first).Throw();
        }
        return staged.Select(l => l!).ToArray();
    }

    /// <summary>
    /// Streams one layer blob once. A <see cref="LayerFeed"/> thread reads it, hashes it (the blob digest) and writes
    /// it to the blob store's temporary file; this thread decompresses what it hands over, hashes that again (the
    /// diff id) and unpacks it. Only when both digests match is the layer staged; the blob is renamed into place and
    /// the unpacked directory moved under its chain id when the whole image commits.
    /// </summary>
    private StagedLayer ImportLayer(LayerInput input, int progressId, Digest? expectedDiff, Digest? chainId, Digest? parentChain,
        Action<long>? onBytes = null, CancellationToken layerCancel = default)
    {
        var token = layerCancel.CanBeCanceled ? layerCancel : cancel;
        token.ThrowIfCancellationRequested();
        // Skip only a blob and layer that an image already pairs: that pairing was verified when it was imported.
        if (input.ExpectedBlob is Digest known && chainId is Digest chain && store.Blobs.Has(known) && store.Layers.Has(chain)
            && store.LayerSize(chain) is long existingSize && store.IsVerifiedPair(known, chain))
        {
            onBytes?.Invoke(input.ProgressTotal);
            Report(progressId, $"Layer {input.Label}", input.ProgressTotal, input.ProgressTotal, completed: true, status: "Already exists");
            return new StagedLayer(null, null, new ImportedLayer(known, store.Blobs.SizeOf(known), input.MediaType ?? MediaTypes.OciLayer, expectedDiff!.Value, chain, existingSize), parentChain, 0);
        }

        var watch = Stopwatch.StartNew();
        long lastReport = 0, received = 0;
        bool needBlob = input.ExpectedBlob is not Digest b || !store.Blobs.Has(b);
        var pending = needBlob ? store.Blobs.Begin() : null;
        var pendingLayer = store.Layers.Begin();
        LayerFeed? feed = null;
        try
        {
            // Only the feed's thread calls this.
            void Received(int n)
            {
                received += n;
                onBytes?.Invoke(n);
                if (pending is not null) space.Written(n);   // the blob's own copy in the store
                if (watch.ElapsedMilliseconds - lastReport > 200)
                {
                    lastReport = watch.ElapsedMilliseconds;
                    Report(progressId, $"Layer {input.Label}", received, input.ProgressTotal);
                }
            }
            feed = LayerFeed.Start(input.Open(token), pending?.Stream, input.ExpectedSize, Received, token);
            using var decompressed = Compression.OpenDecompressed(feed.Reader, out var compression, layersOnly: true);
            // An uncompressed blob is its own diff: its bytes are hashed once, as the blob.
            using var diffHash = compression == CompressionKind.None ? null : new DigestingStream(decompressed, leaveOpen: true);
            Stream tar = diffHash ?? decompressed;
            // The layer may already be unpacked (shared with another image); its bytes are still hashed to verify.
            bool needLayer = chainId is not Digest c || !store.Layers.Has(c);
            // Without a diff id to check it against (a root filesystem import), only the tar's own end-of-archive
            // blocks show that the layer was not cut short.
            var applied = needLayer ? LayerApplier.Apply(tar, pendingLayer.DiffDirectory, token, requireEndOfArchive: expectedDiff is null, space) : new LayerApplyResult(0, 0);
            CrashPoint.At("import-layer-written");
            diffHash?.Drain();
            var blobDigest = feed.Finish();
            long blobSize = feed.BytesRead;

            if (input.ExpectedBlob is Digest expectedBlob && expectedBlob != blobDigest)
                throw new EngineException("DigestMismatch", ErrorKind.InvalidData, expectedBlob.ToString(),
                    $"Layer {input.Label} does not match its digest: expected {expectedBlob}, got {blobDigest}.");
            if (input.ExpectedSize is long expectedSize && expectedSize != blobSize)
                throw new EngineException("SizeMismatch", ErrorKind.InvalidData, blobDigest.ToString(),
                    $"Layer {input.Label} is {blobSize} bytes; its descriptor says {expectedSize}.");
            var diffId = diffHash?.Digest ?? blobDigest;
            if (expectedDiff is Digest ed && ed != diffId)
                throw new EngineException("DiffIdMismatch", ErrorKind.InvalidData, ed.ToString(),
                    $"Layer {input.Label} unpacks to {diffId}, but the image config says {ed}.");
            var finalChain = chainId ?? diffId;

            pending?.Stream.Flush();
            Report(progressId, $"Layer {input.Label}", input.ProgressTotal, input.ProgressTotal, completed: true, status: "Verified");
            string mediaType = input.MediaType ?? MediaTypes.OciLayerFor(compression);
            if (!needLayer)
            {
                pendingLayer.Dispose();
                pendingLayer = null;
            }
            var result = new ImportedLayer(blobDigest, blobSize, mediaType, diffId, finalChain, applied.Bytes);
            var stagedLayer = new StagedLayer(pending, pendingLayer, result, parentChain, applied.Entries);
            pending = null;
            pendingLayer = null;
            return stagedLayer;
        }
        catch (DataIntegrityException e)
        {
            throw DamagedData(e, input.Label, $"Layer {input.Label}");
        }
        catch (InvalidDataException e)
        {
            throw new EngineException("LayerInvalid", ErrorKind.InvalidData, input.Label, $"Layer {input.Label} is not a valid layer: {e.Message}", e);
        }
        catch (SharpCompress.Compressors.ZStandard.ZstdException e)
        {
            throw new EngineException("LayerInvalid", ErrorKind.InvalidData, input.Label, $"Layer {input.Label} is not valid compressed data: {e.Message}", e);
        }
        finally
        {
            // The reading thread stops before the blob's temporary file may be deleted.
            feed?.Dispose();
            // Still set only when verification failed: nothing of the layer may stay.
            pending?.Dispose();
            pendingLayer?.Dispose();
        }
    }
}
