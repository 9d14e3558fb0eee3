using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>
/// Decompresses gzip with the system's zlib, and fails unless every member reaches its end: zlib checks each
/// member's CRC-32 and length trailer and says when a member ends (Z_STREAM_END). System.IO.Compression's
/// GZipStream cannot be used for that: it returns end-of-stream when its input runs out, whether or not the
/// trailer was there, so a cut .tar.gz read as a shorter, valid one; and it reports a bad CRC as "unsupported
/// compression method". Concatenated members (gzip's multi-member format) are read one after the other; zero
/// bytes after the last member (block padding) are ignored, anything else there is corrupt data.
/// </summary>
public sealed unsafe class GzipInflateStream : ReadOnlyStream
{
    private const int InputSize = 1 << 16;
    private const int ZOk = 0, ZStreamEnd = 1, ZNeedDict = 2, ZDataError = -3, ZMemError = -4, ZBufError = -5;
    private const int ZNoFlush = 0;
    private const int GzipWindowBits = 16 + 15;   // 15-bit window, gzip wrapper only

    private readonly Stream source;
    private readonly bool leaveOpen;
    private ZStream* zs;
    private byte* input;
    private bool finished;

    public GzipInflateStream(Stream source, bool leaveOpen = false)
    {
        this.source = source;
        this.leaveOpen = leaveOpen;
        // zlib keeps pointers to the z_stream and to unread input between calls: both live in native memory.
        try
        {
            zs = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
            input = (byte*)NativeMemory.Alloc(InputSize);
            int rc = inflateInit2_(zs, GzipWindowBits, "1.2.11", sizeof(ZStream));
            if (rc != ZOk) throw new InvalidOperationException($"zlib inflateInit2 failed ({rc}).");
            initialized = true;
        }
        catch (DllNotFoundException e)
        {
            Free();
            GC.SuppressFinalize(this);
            throw new InvalidOperationException("gzip data needs the system zlib (libz.so.1, Debian package zlib1g), which is not installed.", e);
        }
        catch
        {
            Free();
            GC.SuppressFinalize(this);
            throw;
        }
    }

    private bool initialized;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(zs is null, this);
        if (finished || buffer.Length == 0) return 0;
        fixed (byte* output = buffer)
        {
            zs->next_out = output;
            zs->avail_out = (uint)buffer.Length;
            while (zs->avail_out == (uint)buffer.Length)
            {
                if (zs->avail_in == 0 && !Refill())
                    throw new DataIntegrityException(DataProblem.Truncated,
                        "the gzip data is truncated: it ends before its last member's end and CRC-32 trailer");
                int rc = inflate(zs, ZNoFlush);
                if (rc == ZStreamEnd)
                {
                    // The member's trailer matched. Another member may follow.
                    if (!NextMember()) { finished = true; break; }
                    continue;
                }
                if (rc == ZOk) continue;
                // No progress: fine when it wants more input, a stuck stream otherwise.
                if (rc == ZBufError && zs->avail_in == 0) continue;
                throw Failure(rc == ZBufError ? ZDataError : rc);
            }
            return buffer.Length - (int)zs->avail_out;
        }
    }

    /// <summary>After a member's end: true when another member follows (zlib reset for it), false at the end.</summary>
    private bool NextMember()
    {
        while (true)
        {
            if (zs->avail_in == 0 && !Refill()) return false;
            // Zero padding after the last member (tape blocking) is not data.
            while (zs->avail_in > 0 && zs->next_in[0] == 0) { zs->next_in++; zs->avail_in--; }
            if (zs->avail_in == 0) continue;
            if (zs->next_in[0] == 0x1f) break;
            throw new DataIntegrityException(DataProblem.Corrupt, "the gzip data has trailing garbage after its last member");
        }
        int rc = inflateReset(zs);
        if (rc != ZOk) throw Failure(rc);
        return true;
    }

    private bool Refill()
    {
        int n = source.Read(new Span<byte>(input, InputSize));
        zs->next_in = input;
        zs->avail_in = (uint)n;
        return n > 0;
    }

    private Exception Failure(int rc)
    {
        string message = zs->msg is null ? $"zlib error {rc}" : Marshal.PtrToStringUTF8((nint)zs->msg) ?? $"zlib error {rc}";
        return rc switch
        {
            // zlib's own words for a trailer that does not match the data.
            ZDataError when message is "incorrect data check" or "incorrect length check" =>
                new DataIntegrityException(DataProblem.ChecksumMismatch, $"the gzip data does not match its checksum ({message})"),
            ZDataError or ZNeedDict => new DataIntegrityException(DataProblem.Corrupt, $"the gzip data is corrupt ({message})"),
            ZMemError => new InsufficientMemoryException("zlib ran out of memory"),
            _ => new InvalidOperationException($"zlib inflate failed ({rc}: {message})"),
        };
    }

    private void Free()
    {
        if (zs is not null)
        {
            if (initialized) inflateEnd(zs);
            initialized = false;
            NativeMemory.Free(zs);
            zs = null;
        }
        if (input is not null)
        {
            NativeMemory.Free(input);
            input = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        Free();
        if (disposing && !leaveOpen) source.Dispose();
        base.Dispose(disposing);
    }

    ~GzipInflateStream() => Free();

    public override bool CanRead => zs is not null;

    /// <summary>zlib's z_stream (LP64: uLong is 64 bits).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* next_in;
        public uint avail_in;
        public nuint total_in;
        public byte* next_out;
        public uint avail_out;
        public nuint total_out;
        public sbyte* msg;
        public void* state;
        public void* zalloc;
        public void* zfree;
        public void* opaque;
        public int data_type;
        public nuint adler;
        public nuint reserved;
    }

    [DllImport("libz.so.1", ExactSpelling = true)]
    private static extern int inflateInit2_(ZStream* strm, int windowBits, [MarshalAs(UnmanagedType.LPStr)] string version, int streamSize);

    [DllImport("libz.so.1", ExactSpelling = true)]
    private static extern int inflate(ZStream* strm, int flush);

    [DllImport("libz.so.1", ExactSpelling = true)]
    private static extern int inflateReset(ZStream* strm);

    [DllImport("libz.so.1", ExactSpelling = true)]
    private static extern int inflateEnd(ZStream* strm);
}
