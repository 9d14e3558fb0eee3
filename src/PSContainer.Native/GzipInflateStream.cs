using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>
/// Decompresses gzip with the zlib-ng that .NET itself ships (libSystem.IO.Compression.Native, the library under
/// GZipStream: its inflate and CRC-32 are several times faster than Debian's zlib 1.2), and fails unless every
/// member reaches its end: zlib checks each member's CRC-32 and length trailer and says when a member ends
/// (Z_STREAM_END). GZipStream itself cannot be used for that: it returns end-of-stream when its input runs out,
/// whether or not the trailer was there, so a cut .tar.gz read as a shorter, valid one; and it reports a bad CRC as
/// "unsupported compression method". Concatenated members (gzip's multi-member format) are read one after the
/// other; zero bytes after the last member (block padding) are ignored, anything else there is corrupt data.
/// </summary>
public sealed unsafe class GzipInflateStream : ReadOnlyStream
{
    private const int InputSize = 1 << 18;
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
            int rc = CompressionNative_InflateInit2_(zs, GzipWindowBits);
            if (rc != ZOk) throw new InvalidOperationException($"zlib inflateInit2 failed ({rc}).");
            initialized = true;
        }
        catch (DllNotFoundException e)
        {
            Free();
            GC.SuppressFinalize(this);
            throw new InvalidOperationException("gzip data needs .NET's libSystem.IO.Compression.Native, which this runtime does not have.", e);
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
            zs->nextOut = output;
            zs->availOut = (uint)buffer.Length;
            while (zs->availOut == (uint)buffer.Length)
            {
                if (zs->availIn == 0 && !Refill())
                    throw new DataIntegrityException(DataProblem.Truncated,
                        "the gzip data is truncated: it ends before its last member's end and CRC-32 trailer");
                int rc = CompressionNative_Inflate(zs, ZNoFlush);
                if (rc == ZStreamEnd)
                {
                    // The member's trailer matched. Another member may follow.
                    if (!NextMember()) { finished = true; break; }
                    continue;
                }
                if (rc == ZOk) continue;
                // No progress: fine when it wants more input, a stuck stream otherwise.
                if (rc == ZBufError && zs->availIn == 0) continue;
                throw Failure(rc == ZBufError ? ZDataError : rc);
            }
            return buffer.Length - (int)zs->availOut;
        }
    }

    /// <summary>After a member's end: true when another member follows (zlib reset for it), false at the end.</summary>
    private bool NextMember()
    {
        while (true)
        {
            if (zs->availIn == 0 && !Refill()) return false;
            // Zero padding after the last member (tape blocking) is not data.
            while (zs->availIn > 0 && zs->nextIn[0] == 0) { zs->nextIn++; zs->availIn--; }
            if (zs->availIn == 0) continue;
            if (zs->nextIn[0] == 0x1f) break;
            throw new DataIntegrityException(DataProblem.Corrupt, "the gzip data has trailing garbage after its last member");
        }
        int rc = CompressionNative_InflateReset2_(zs, GzipWindowBits);
        if (rc != ZOk) throw Failure(rc);
        return true;
    }

    private bool Refill()
    {
        int n = source.Read(new Span<byte>(input, InputSize));
        zs->nextIn = input;
        zs->availIn = (uint)n;
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
            if (initialized) CompressionNative_InflateEnd(zs);
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

    /// <summary>
    /// The runtime's PAL_ZStream (System.IO.Compression.Native/pal_zlib.h): the z_stream itself stays inside the
    /// library, these fields are copied in and out on every call.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* nextIn;
        public byte* nextOut;
        public sbyte* msg;
        public void* internalState;
        public uint availIn;
        public uint availOut;
    }

    private const string CompressionLibrary = "libSystem.IO.Compression.Native";

    [DllImport(CompressionLibrary, ExactSpelling = true)]
    private static extern int CompressionNative_InflateInit2_(ZStream* stream, int windowBits);

    [DllImport(CompressionLibrary, ExactSpelling = true)]
    private static extern int CompressionNative_Inflate(ZStream* stream, int flush);

    [DllImport(CompressionLibrary, ExactSpelling = true)]
    private static extern int CompressionNative_InflateReset2_(ZStream* stream, int windowBits);

    [DllImport(CompressionLibrary, ExactSpelling = true)]
    private static extern int CompressionNative_InflateEnd(ZStream* stream);
}
