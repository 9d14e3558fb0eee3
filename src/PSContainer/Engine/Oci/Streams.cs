using System.Security.Cryptography;
using PSContainer.Native;

namespace PSContainer.Engine.Oci;

/// <summary>A read-only pass-through that hashes (sha256) what is read, optionally copies it to a sink, and can
/// refuse to read past a declared length (a blob larger than its descriptor says is an error, not a surprise).</summary>
public sealed class DigestingStream : ReadOnlyStream
{
    private readonly Stream inner;
    private readonly Stream? sink;
    private readonly long? limit;
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool leaveOpen;
    private Digest? digest;

    public DigestingStream(Stream inner, Stream? sink = null, long? limit = null, bool leaveOpen = false)
    {
        this.inner = inner;
        this.sink = sink;
        this.limit = limit;
        this.leaveOpen = leaveOpen;
    }

    public long BytesRead { get; private set; }

    /// <summary>Called with each count of bytes read, e.g. to report progress.</summary>
    public Action<long>? OnRead { get; set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Account(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Account(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Account(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return;
        if (digest is not null) throw new InvalidOperationException("read after the digest was taken");
        BytesRead += data.Length;
        if (limit is long max && BytesRead > max)
            throw new EngineException("BlobTooLarge", ErrorKind.InvalidData, null, $"The content is larger than the {max} bytes its descriptor declares.");
        hash.AppendData(data);
        sink?.Write(data);
        OnRead?.Invoke(data.Length);
    }

    /// <summary>Reads whatever is left (trailing tar padding, compression trailers) so the digest covers all bytes.</summary>
    public void Drain()
    {
        var buffer = new byte[81920];
        while (Read(buffer, 0, buffer.Length) > 0) { }
    }

    public Digest Digest => digest ??= Digest.FromHash(hash.GetHashAndReset());

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
            if (!leaveOpen) inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Lets the first bytes of a non-seekable stream be inspected, then reads them again as part of the stream.</summary>
public sealed class PeekableStream : ReadOnlyStream
{
    private readonly Stream inner;
    private readonly byte[] head;
    private int headLength, headPosition;

    public PeekableStream(Stream inner, int peekBytes)
    {
        this.inner = inner;
        head = new byte[peekBytes];
        while (headLength < peekBytes)
        {
            int n = inner.Read(head, headLength, peekBytes - headLength);
            if (n == 0) break;
            headLength += n;
        }
    }

    public ReadOnlySpan<byte> Head => head.AsSpan(0, headLength);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (headPosition < headLength)
        {
            int n = Math.Min(buffer.Length, headLength - headPosition);
            head.AsSpan(headPosition, n).CopyTo(buffer);
            headPosition += n;
            return n;
        }
        return inner.Read(buffer);
    }


    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>A window [offset, offset+length) of a seekable stream, read-only; used to read one member of a tar in place.</summary>
public sealed class WindowStream : Stream
{
    private readonly Stream inner;
    private readonly long start, length;
    private long position;

    public WindowStream(Stream inner, long start, long length)
    {
        this.inner = inner;
        this.start = start;
        this.length = length;
        inner.Seek(start, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = length - position;
        if (left <= 0) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        int n = inner.Read(buffer);
        position += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => position; set => Seek(value, SeekOrigin.Begin); }
    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => position + offset, _ => length + offset };
        if (target < 0) throw new IOException("seek before the start of the window");
        position = target;
        inner.Seek(start + target, SeekOrigin.Begin);
        return position;
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
