using System.IO.Pipelines;
using System.Security.Cryptography;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Images;

/// <summary>
/// Reads one layer blob (a download or an archive member) on its own thread, ahead of the thread that decompresses
/// and unpacks it: the bytes are hashed (the blob digest) and written to the blob's temporary file as they arrive,
/// then handed over through a bounded pipe. So the network, SHA-256 and the blob's write overlap with inflate and
/// the tar's files instead of taking turns on one thread. The digest is only known after the whole blob was read
/// (<see cref="Finish"/>); nothing built from the bytes may become visible before it was compared.
/// </summary>
internal sealed class LayerFeed : IDisposable
{
    // Up to 16 MiB read ahead of the unpacking per layer; the reader wakes the writer again below 8 MiB.
    private const long PauseAt = 16L << 20, ResumeAt = 8L << 20;
    private const int ChunkSize = 1 << 17;

    private readonly Stream source;
    private readonly Stream? sink;
    private readonly long? limit;
    private readonly Action<int>? onRead;
    private readonly CancellationToken cancel;
    private readonly Pipe pipe = new(new PipeOptions(pauseWriterThreshold: PauseAt, resumeWriterThreshold: ResumeAt,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Thread thread;
    private Exception? failure;
    private Digest? digest;

    private LayerFeed(Stream source, Stream? sink, long? limit, Action<int>? onRead, CancellationToken cancel)
    {
        this.source = source;
        this.sink = sink;
        this.limit = limit;
        this.onRead = onRead;
        this.cancel = cancel;
        Reader = pipe.Reader.AsStream();
        thread = new Thread(Produce) { IsBackground = true, Name = "psc-layer-feed" };
    }

    /// <summary>Starts reading <paramref name="source"/> (owned from here on) into the pipe; <paramref name="sink"/>
    /// receives a copy of every byte; more than <paramref name="limit"/> bytes is BlobTooLarge.</summary>
    public static LayerFeed Start(Stream source, Stream? sink, long? limit, Action<int>? onRead, CancellationToken cancel)
    {
        var feed = new LayerFeed(source, sink, limit, onRead, cancel);
        feed.thread.Start();
        return feed;
    }

    /// <summary>The blob's bytes, in order; a failure of the reading side surfaces here as its own exception.</summary>
    public Stream Reader { get; }

    public long BytesRead { get; private set; }

    private void Produce()
    {
        var writer = pipe.Writer;
        try
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                var memory = writer.GetMemory(ChunkSize);
                int n = source.Read(memory.Span);
                if (n == 0) break;
                var data = memory.Span[..n];
                BytesRead += n;
                if (limit is long max && BytesRead > max)
                    throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, null, $"The content is larger than the {max} bytes its descriptor declares.");
                hash.AppendData(data);
                sink?.Write(data);
                onRead?.Invoke(n);
                writer.Advance(n);
                var flushing = writer.FlushAsync(CancellationToken.None);
                // The reader has stopped (it failed, or the layer is being abandoned): nothing more to read for.
                if ((flushing.IsCompletedSuccessfully ? flushing.Result : flushing.AsTask().GetAwaiter().GetResult()).IsCompleted) break;
            }
            writer.Complete();
        }
        catch (Exception e)
        {
            failure = e;
            writer.Complete(e);
        }
        finally
        {
            source.Dispose();
        }
    }

    /// <summary>Waits for the reading side to finish (the unpacking read everything it needed; the rest, such as
    /// trailing padding, is still hashed) and returns the blob's digest.</summary>
    public Digest Finish()
    {
        if (digest is Digest known) return known;
        var buffer = new byte[ChunkSize];
        while (Reader.Read(buffer, 0, buffer.Length) > 0) { }
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        digest = Digest.FromHash(hash.GetHashAndReset());
        return digest.Value;
    }

    /// <summary>Stops the reading side and waits for it, so the blob's temporary file is no longer written when its
    /// owner deletes it.</summary>
    public void Dispose()
    {
        pipe.Reader.Complete();
        // A read blocked on the network ends with its data, its idle timeout or the pull's cancellation.
        thread.Join();
        hash.Dispose();
    }
}
