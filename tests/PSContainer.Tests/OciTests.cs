using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Oci;
using Xunit;

namespace PSContainer.Tests;

public class DigestParseTests
{
    private static string Sha(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void ParsesSha256AndSha512()
    {
        var d = Digest.Parse("sha256:" + new string('0', 63) + "f");
        Assert.Equal("sha256", d.Algorithm);
        Assert.Equal(new string('0', 63) + "f", d.Hex);
        Assert.Equal("sha256:" + new string('0', 63) + "f", d.ToString());
        Assert.Equal(new string('0', 12), d.Short);
        Assert.True(Digest.TryParse("sha512:" + new string('e', 128), out var e));
        Assert.Equal("sha512", e.Algorithm);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData(":aaaa")]
    [InlineData("sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256:000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256:00000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256:g000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("md5:00000000000000000000000000000000")]
    [InlineData("sha512:0000000000000000000000000000000000000000000000000000000000000000")]
    public void RejectsInvalid(string? text)
    {
        Assert.False(Digest.TryParse(text, out _, out string? why));
        Assert.False(string.IsNullOrEmpty(why));
        if (text is not null)
        {
            var e = Assert.Throws<EngineException>(() => Digest.Parse(text));
            Assert.Equal("InvalidDigest", e.ErrorId);
        }
    }

    [Fact]
    public void ComputeIsSha256OfUtf8()
    {
        Assert.Equal(Sha("hello"), Digest.Compute("hello").ToString());
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Compute(ReadOnlySpan<byte>.Empty).ToString());
        var bytes = new byte[] { 0, 1, 2, 255 };
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), Digest.Compute(bytes).ToString());
    }

    [Fact]
    public void ChainIdsFollowTheOciSpec()
    {
        var d1 = Digest.Compute("one");
        var d2 = Digest.Compute("two");
        var d3 = Digest.Compute("three");
        var chain = Digest.ChainIds([d1, d2, d3]);
        Assert.Equal(3, chain.Count);
        string chain1 = d1.ToString();
        string chain2 = Sha(chain1 + " " + d2);
        string chain3 = Sha(chain2 + " " + d3);
        Assert.Equal(chain1, chain[0].ToString());
        Assert.Equal(chain2, chain[1].ToString());
        Assert.Equal(chain3, chain[2].ToString());
        Assert.Empty(Digest.ChainIds([]));
    }
}

public class CompressionTests
{
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("layer content 0123456789\n", 5000)));

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] Zstd(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new SharpCompress.Compressors.ZStandard.CompressionStream(ms, 3, 0, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    private static byte[] ReadAll(Stream s)
    {
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void DetectsByMagicBytes()
    {
        Assert.Equal(CompressionKind.Gzip, Compression.Detect(Gzip(Payload)));
        Assert.Equal(CompressionKind.Zstd, Compression.Detect(Zstd(Payload)));
        Assert.Equal(CompressionKind.Bzip2, Compression.Detect("BZh91AY"u8));
        Assert.Equal(CompressionKind.Xz, Compression.Detect([0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0]));
        Assert.Equal(CompressionKind.None, Compression.Detect(Payload));
        Assert.Equal(CompressionKind.None, Compression.Detect([0x1f]));
        Assert.Equal(CompressionKind.None, Compression.Detect([]));
    }

    [Fact]
    public void GzipRoundTrip()
    {
        using var s = Compression.OpenDecompressed(new NonSeekableStream(new MemoryStream(Gzip(Payload))), out var kind);
        Assert.Equal(CompressionKind.Gzip, kind);
        Assert.Equal(Payload, ReadAll(s));
    }

    [Fact]
    public void ZstdRoundTripWithSharpCompress()
    {
        using var s = Compression.OpenDecompressed(new MemoryStream(Zstd(Payload)), out var kind, layersOnly: true);
        Assert.Equal(CompressionKind.Zstd, kind);
        Assert.Equal(Payload, ReadAll(s));
    }

    [SkippableFact]
    public void ZstdRoundTripWithZstdBinary()
    {
        // The zstd program is an independent producer of frames our decoder must read.
        Skip.IfNot(Posix.HasProgram("zstd"), "the zstd program is not installed (Debian package zstd)");
        using var dir = new TempDir();
        string plain = dir.Combine("data");
        File.WriteAllBytes(plain, Payload);
        Posix.Run("zstd", "-q", "-19", plain, "-o", plain + ".zst");
        using var s = Compression.OpenDecompressed(File.OpenRead(plain + ".zst"), out var kind);
        Assert.Equal(CompressionKind.Zstd, kind);
        Assert.Equal(Payload, ReadAll(s));
    }

    [Fact]
    public void UncompressedPassesThroughIncludingPeekedBytes()
    {
        using var s = Compression.OpenDecompressed(new NonSeekableStream(new MemoryStream(Payload)), out var kind);
        Assert.Equal(CompressionKind.None, kind);
        Assert.Equal(Payload, ReadAll(s));
        // Shorter than the peek window.
        using var tiny = Compression.OpenDecompressed(new MemoryStream([1, 2, 3]), out kind);
        Assert.Equal(CompressionKind.None, kind);
        Assert.Equal(new byte[] { 1, 2, 3 }, ReadAll(tiny));
    }

    [Fact]
    public void LayersOnlyRefusesBzip2AndXz()
    {
        var e = Assert.Throws<EngineException>(() => Compression.OpenDecompressed(new MemoryStream("BZh91AY&SY"u8.ToArray()), out _, layersOnly: true));
        Assert.Equal("UnsupportedLayerCompression", e.ErrorId);
        e = Assert.Throws<EngineException>(() => Compression.OpenDecompressed(new MemoryStream([0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0, 0, 0]), out _, layersOnly: true));
        Assert.Equal("UnsupportedLayerCompression", e.ErrorId);
    }
}

public class DigestingStreamTests
{
    private static readonly byte[] Data = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();

    [Fact]
    public void DigestAndCountCoverEveryByteAndSinkGetsThem()
    {
        var sink = new MemoryStream();
        long reported = 0;
        using var s = new DigestingStream(new NonSeekableStream(new MemoryStream(Data)), sink);
        s.OnRead = n => reported += n;
        var buffer = new byte[1000];
        Assert.Equal(1000, s.Read(buffer, 0, 1000));
        s.Drain();
        Assert.Equal(Data.Length, s.BytesRead);
        Assert.Equal(Data.Length, reported);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Data)), s.Digest.ToString());
        Assert.Equal(Data, sink.ToArray());
    }

    [Fact]
    public void LimitExceededThrowsBlobTooLarge()
    {
        var sink = new MemoryStream();
        using var s = new DigestingStream(new MemoryStream(Data), sink, limit: Data.Length - 1);
        var e = Assert.Throws<EngineException>(() => s.Drain());
        Assert.Equal("BlobTooLarge", e.ErrorId);
        Assert.True(sink.Length < Data.Length, "bytes past the limit must not reach the sink");
    }

    [Fact]
    public void ExactlyAtLimitIsFine()
    {
        using var s = new DigestingStream(new MemoryStream(Data), limit: Data.Length);
        s.Drain();
        Assert.Equal(Data.Length, s.BytesRead);
    }

    [Fact]
    public void ReadingAfterTheDigestWasTakenIsAnError()
    {
        using var s = new DigestingStream(new MemoryStream(Data));
        var buffer = new byte[10];
        s.ReadExactly(buffer);
        _ = s.Digest;
        Assert.Throws<InvalidOperationException>(() => s.ReadExactly(buffer));
    }

    [Fact]
    public void LeaveOpenControlsTheInnerStream()
    {
        var inner = new MemoryStream(Data);
        new DigestingStream(inner, leaveOpen: true).Dispose();
        Assert.True(inner.CanRead);
        new DigestingStream(inner).Dispose();
        Assert.False(inner.CanRead);
    }
}
