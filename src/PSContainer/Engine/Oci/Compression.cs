using PSContainer.Native;

namespace PSContainer.Engine.Oci;

public enum CompressionKind { None, Gzip, Zstd, Bzip2, Xz }

/// <summary>Recognizes compression from the first bytes of a stream (never from a media type or file name alone).</summary>
public static class Compression
{
    public static CompressionKind Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) return CompressionKind.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return CompressionKind.Zstd;
        if (head.Length >= 3 && head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h') return CompressionKind.Bzip2;
        if (head.Length >= 6 && head[0] == 0xfd && head[1] == (byte)'7' && head[2] == (byte)'z' && head[3] == (byte)'X' && head[4] == (byte)'Z' && head[5] == 0) return CompressionKind.Xz;
        return CompressionKind.None;
    }

    /// <summary>Detects the compression of <paramref name="source"/> and returns a stream of its decompressed bytes.</summary>
    public static Stream OpenDecompressed(Stream source, out CompressionKind kind, bool layersOnly = false)
    {
        var peek = new PeekableStream(source, 8);
        kind = Detect(peek.Head);
        if (layersOnly && kind is CompressionKind.Bzip2 or CompressionKind.Xz)
            throw new EngineException("UnsupportedLayerCompression", ErrorKind.InvalidData, null,
                $"Layer is {kind}-compressed; the OCI image spec allows only uncompressed, gzip and zstd layers.");
        return kind switch
        {
            // zlib through PSContainer.Native: every member must end with a matching CRC-32 and length trailer.
            CompressionKind.Gzip => new GzipInflateStream(peek),
            CompressionKind.Zstd => new IntegrityChecked(new SharpCompress.Compressors.ZStandard.DecompressionStream(peek, 1 << 17, checkEndOfStream: true, leaveOpen: false), "zstd"),
            CompressionKind.Bzip2 => new IntegrityChecked(SharpCompress.Compressors.BZip2.BZip2Stream.Create(peek, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false, tolerateTruncatedStream: false), "bzip2"),
            CompressionKind.Xz => new IntegrityChecked(new SharpCompress.Compressors.Xz.XZStream(peek), "xz"),
            _ => peek,
        };
    }

    /// <summary>
    /// SharpCompress's decompressors, with their failures said the way the gzip reader says them: a stream that ends
    /// before its frame does is truncated (its own error id), anything else it refuses is corrupt.
    /// </summary>
    private sealed class IntegrityChecked(Stream inner, string format) : ReadOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (Exception e) when (e is SharpCompress.Common.IncompleteArchiveException or EndOfStreamException)
            {
                throw new DataIntegrityException(DataProblem.Truncated, $"the {format} data is truncated ({e.Message})");
            }
            catch (Exception e) when (e is SharpCompress.Common.ArchiveException or SharpCompress.Compressors.ZStandard.ZstdException or InvalidDataException)
            {
                throw new DataIntegrityException(DataProblem.Corrupt, $"the {format} data is corrupt ({e.Message})");
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
