using System.IO.Compression;
using PSContainer.Engine.Oci;
using PSContainer.Native;
using Xunit;
using PscTarReader = PSContainer.Engine.Archives.TarReader;

namespace PSContainer.Tests;

/// <summary>
/// A cut or damaged archive is never read as a shorter, valid one: gzip must reach every member's trailer with a
/// matching CRC-32 and length, a tar taken on trust must reach its end-of-archive blocks, and each problem has its
/// own kind (truncated, checksum mismatch, corrupt).
/// </summary>
public sealed class ArchiveIntegrityTests
{
    // Half random, half repetitive: the deflate data is long enough to cut in the middle, and has both block kinds.
    private static readonly byte[] Payload = MakePayload();

    private static byte[] MakePayload()
    {
        var data = new byte[300_000];
        new Random(9).NextBytes(data.AsSpan(0, 150_000));
        for (int i = 150_000; i < data.Length; i++) data[i] = (byte)(i * 7 % 251);
        return data;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] Inflate(byte[] gzip)
    {
        using var input = Compression.OpenDecompressed(new MemoryStream(gzip), out var kind);
        Assert.Equal(CompressionKind.Gzip, kind);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    [Fact]
    public void AWholeGzipStreamDecompresses()
    {
        Assert.Equal(Payload, Inflate(Gzip(Payload)));
    }

    [Fact]
    public void ConcatenatedMembersAndZeroPaddingAreRead()
    {
        byte[] two = [.. Gzip(Payload[..1000]), .. Gzip(Payload[1000..]), .. new byte[512]];
        Assert.Equal(Payload, Inflate(two));
    }

    [Theory]
    [InlineData(8)]       // only the CRC-32 and length trailer is missing
    [InlineData(4)]       // half of it
    [InlineData(5000)]    // cut in the middle of the deflate data
    public void AGzipStreamCutShortIsTruncated(int cut)
    {
        var gz = Gzip(Payload);
        var e = Assert.Throws<DataIntegrityException>(() => Inflate(gz[..^cut]));
        Assert.Equal(DataProblem.Truncated, e.Problem);
    }

    [Fact]
    public void ABadCrcIsAChecksumMismatch()
    {
        var gz = Gzip(Payload);
        gz[^8] ^= 0xff;   // the CRC-32's first byte
        Assert.Equal(DataProblem.ChecksumMismatch, Assert.Throws<DataIntegrityException>(() => Inflate(gz)).Problem);
        gz = Gzip(Payload);
        gz[^1] ^= 0x01;   // the length
        Assert.Equal(DataProblem.ChecksumMismatch, Assert.Throws<DataIntegrityException>(() => Inflate(gz)).Problem);
    }

    [Fact]
    public void DamagedDeflateDataOrTrailingGarbageIsCorrupt()
    {
        var gz = Gzip(Payload);
        gz[12] = 0xff; gz[13] = 0xff; gz[14] = 0xff;   // the first deflate block's header
        var e = Assert.Throws<DataIntegrityException>(() => Inflate(gz));
        Assert.NotEqual(DataProblem.Truncated, e.Problem);
        byte[] garbage = [.. Gzip(Payload), 1, 2, 3];
        Assert.Equal(DataProblem.Corrupt, Assert.Throws<DataIntegrityException>(() => Inflate(garbage)).Problem);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    public void AZstdStreamCutShortIsTruncated(int cut)
    {
        var ms = new MemoryStream();
        using (var z = new SharpCompress.Compressors.ZStandard.CompressionStream(ms, 3, 0, leaveOpen: true)) z.Write(Payload);
        var zst = ms.ToArray();
        using (var whole = Compression.OpenDecompressed(new MemoryStream(zst), out var kind))
        {
            Assert.Equal(CompressionKind.Zstd, kind);
            var output = new MemoryStream();
            whole.CopyTo(output);
            Assert.Equal(Payload, output.ToArray());
        }
        var e = Assert.Throws<DataIntegrityException>(() =>
        {
            using var cutShort = Compression.OpenDecompressed(new MemoryStream(zst[..^cut]), out _);
            cutShort.CopyTo(Stream.Null);
        });
        Assert.Equal(DataProblem.Truncated, e.Problem);
    }

    [Fact]
    public void ATarCutAtAnEntryBoundaryIsTruncatedWhenTheEndIsRequired()
    {
        var whole = new RawTar().File1("a", "a").File1("b", "b").ToArray();
        var cut = whole[..(2 * 1024)];   // two complete entries, no end-of-archive blocks
        Assert.Equal(2, ReadNames(cut, requireEnd: false).Count);
        var e = Assert.Throws<DataIntegrityException>(() => ReadNames(cut, requireEnd: true));
        Assert.Equal(DataProblem.Truncated, e.Problem);
        Assert.Equal(["a", "b"], ReadNames(whole, requireEnd: true));
        // One zero block before the end is tolerated, as GNU tar does.
        Assert.Equal(["a", "b"], ReadNames(whole[..(2 * 1024 + 512)], requireEnd: true));
    }

    private static List<string> ReadNames(byte[] tar, bool requireEnd)
    {
        var reader = new PscTarReader(new NonSeekableStream(new MemoryStream(tar)), requireEnd);
        var names = new List<string>();
        while (reader.Next() is { } entry) names.Add(entry.Name);
        return names;
    }
}
