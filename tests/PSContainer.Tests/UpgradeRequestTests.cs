using System.IO.Pipelines;
using System.Text;
using PSContainer.Api;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// The request-head reader and the input pump that let Kestrel upgrade the docker CLI's attached exec start (an
/// upgrade request with a JSON body): what is rewritten, what passes unchanged, and that no input makes them throw,
/// lose or reorder bytes.
/// </summary>
public sealed class UpgradeRequestTests
{
    // The request of the docker 20.10 CLI for `docker exec c true`: its ExecStartCheck body after the head.
    private const string ExecStartHead = "POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/20.10.24+dfsg1 (linux)\r\n" +
                                         "Content-Length: 28\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nUpgrade: tcp\r\n\r\n";
    private const string ExecStartBody = "{\"Detach\":false,\"Tty\":false}";

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    [Fact]
    public void RecognisesAnUpgradeWithABody()
    {
        var head = UpgradeRequestHead.Parse(Bytes(ExecStartHead + ExecStartBody[..5]));
        Assert.Equal(UpgradeRequestHead.Kind.UpgradeWithBody, head.Kind);
        Assert.Equal(ExecStartHead.Length, head.Length);
        Assert.Equal(28, head.BodyLength);
    }

    [Fact]
    public void RewritesTheBodyIntoAHeader()
    {
        byte[] rewritten = UpgradeRequestHead.Rewrite(Bytes(ExecStartHead), Bytes(ExecStartBody));
        string text = Encoding.Latin1.GetString(rewritten);
        Assert.StartsWith("POST /v1.41/exec/abc/start HTTP/1.1\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Content-Length", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\r\nUpgrade: tcp\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: Upgrade\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith($"\r\n{UpgradeRequestHead.BodyHeader}: {Convert.ToBase64String(Bytes(ExecStartBody))}\r\n\r\n", text, StringComparison.Ordinal);
        // The rewritten head is an upgrade without a body: Kestrel's to upgrade, nothing left to rewrite.
        var again = UpgradeRequestHead.Parse(rewritten);
        Assert.Equal(UpgradeRequestHead.Kind.Upgrade, again.Kind);
        Assert.Equal(rewritten.Length, again.Length);
        Assert.Equal(0, again.BodyLength);
    }

    [Fact]
    public void DropsABodyHeaderTheClientSentItself()
    {
        string head = ExecStartHead.Replace("Upgrade: tcp\r\n", $"Upgrade: tcp\r\n{UpgradeRequestHead.BodyHeader}: e30=\r\n", StringComparison.Ordinal);
        string text = Encoding.Latin1.GetString(UpgradeRequestHead.Rewrite(Bytes(head), Bytes(ExecStartBody)));
        Assert.DoesNotContain("e30=", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", UpgradeRequestHead.Kind.Plain, 0)]
    [InlineData("POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n", UpgradeRequestHead.Kind.Plain, 12)]
    [InlineData("POST /x HTTP/1.1\r\ncontent-length: 5\r\nCONTENT-LENGTH: 5\r\n\r\n", UpgradeRequestHead.Kind.Plain, 5)]
    // attach: an upgrade without a body is Kestrel's own; after it the connection is raw
    [InlineData("POST /containers/c/attach?stream=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", UpgradeRequestHead.Kind.Upgrade, 0)]
    [InlineData("POST /x HTTP/1.1\r\nConnection: keep-alive, upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n", UpgradeRequestHead.Kind.UpgradeWithBody, 2)]
    // Upgrade without Connection: Upgrade is no upgrade request
    [InlineData("POST /x HTTP/1.1\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n", UpgradeRequestHead.Kind.Plain, 2)]
    // Connection: Upgrade without an Upgrade header is an upgrade to Kestrel, so to the pump too
    [InlineData("POST /containers/c/attach HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", UpgradeRequestHead.Kind.Upgrade, 0)]
    [InlineData("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nNoColon\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("post /x HTTP/1.1\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/2\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    [InlineData("POST /x HTTP/1.1\r\nHost: x\r\n", UpgradeRequestHead.Kind.Incomplete, 0)]
    [InlineData("", UpgradeRequestHead.Kind.Incomplete, 0)]
    // Docker.DotNet 3.125 ends its header lines with a bare LF, which Kestrel accepts too.
    [InlineData("GET /images/json HTTP/1.1\r\nUser-Agent: Docker.DotNet\nHost: x\nConnection: close\n\r\n", UpgradeRequestHead.Kind.Plain, 0)]
    [InlineData("POST /x HTTP/1.1\nConnection: Upgrade\nUpgrade: tcp\nContent-Length: 2\n\n", UpgradeRequestHead.Kind.UpgradeWithBody, 2)]
    [InlineData("POST /x HTTP/1.1\nHost: x\n", UpgradeRequestHead.Kind.Incomplete, 0)]
    [InlineData("\r\nGET / HTTP/1.1\r\n\r\n", UpgradeRequestHead.Kind.Opaque, 0)]
    public void ClassifiesHeads(string head, UpgradeRequestHead.Kind kind, long body)
    {
        var parsed = UpgradeRequestHead.Parse(Bytes(head));
        Assert.Equal(kind, parsed.Kind);
        Assert.Equal(body, parsed.BodyLength);
    }

    [Fact]
    public void AnUpgradeWithABodyTooLargeToMoveIsLeftAlone()
    {
        string head = $"POST /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {UpgradeRequestHead.MaxBodyLength + 1}\r\n\r\n";
        Assert.Equal(UpgradeRequestHead.Kind.Opaque, UpgradeRequestHead.Parse(Bytes(head)).Kind);
    }

    [Fact]
    public void AHeadWithoutAnEndWithinTheLimitIsOpaque()
    {
        var data = Bytes("POST /x HTTP/1.1\r\nA: " + new string('a', UpgradeRequestHead.MaxHeadLength));
        Assert.Equal(UpgradeRequestHead.Kind.Opaque, UpgradeRequestHead.Parse(data).Kind);
    }

    [Fact]
    public void ParsingRandomBytesNeverThrows()
    {
        // Fuzz: random bytes, random mutations of real heads, and every truncation of them.
        var random = new Random(1234);
        string[] seeds = [ExecStartHead + ExecStartBody, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"];
        for (int i = 0; i < 3000; i++)
        {
            byte[] data;
            if (i % 3 == 0)
            {
                data = new byte[random.Next(0, 300)];
                random.NextBytes(data);
            }
            else
            {
                data = Bytes(seeds[random.Next(seeds.Length)]);
                for (int m = random.Next(1, 6); m > 0; m--) data[random.Next(data.Length)] = (byte)random.Next(256);
                data = data[..random.Next(data.Length + 1)];
            }
            var head = UpgradeRequestHead.Parse(data);
            Assert.InRange(head.Length, 0, data.Length);
            Assert.True(head.BodyLength >= 0);
            if (head.Kind == UpgradeRequestHead.Kind.UpgradeWithBody)
                UpgradeRequestHead.Parse(UpgradeRequestHead.Rewrite(data.AsSpan(0, head.Length), new byte[head.BodyLength]));
        }
    }

    // ---- the pump over a connection's input ---------------------------------------------------------------------

    private static async Task<byte[]> PumpAsync(IEnumerable<byte[]> chunks) => (await PumpCountingAsync(chunks)).Bytes;

    private static async Task<(byte[] Bytes, int Upgrades)> PumpCountingAsync(IEnumerable<byte[]> chunks)
    {
        int upgrades = 0;
        var wire = new Pipe();
        var transport = new UpgradeBodyTransport(new DuplexPipe(wire.Reader, new Pipe().Writer), () => upgrades++);
        foreach (var chunk in chunks)
        {
            await wire.Writer.WriteAsync(chunk);
            await Task.Yield();
        }
        await wire.Writer.CompleteAsync();
        var result = new MemoryStream();
        while (true)
        {
            var read = await transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            foreach (var segment in read.Buffer) result.Write(segment.Span);
            transport.Input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }
        await transport.Input.CompleteAsync();
        await transport.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(transport.InputEnded.IsCompleted);
        return (result.ToArray(), upgrades);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private static IEnumerable<byte[]> Split(byte[] data, int size)
    {
        for (int at = 0; at < data.Length; at += size) yield return data[at..Math.Min(data.Length, at + size)];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task RewritesTheExecStartAndPassesTheStreamAfterIt(int chunk)
    {
        // A keep-alive request with a body first: the pump follows it to the upgrade request behind it.
        string first = "POST /containers/create HTTP/1.1\r\nContent-Length: 11\r\n\r\nConnection:";
        byte[] stdin = [0, 1, 2, 13, 10, 13, 10, 255];
        byte[] wire = [.. Bytes(first + ExecStartHead + ExecStartBody), .. stdin, .. Bytes(ExecStartHead)];
        var (seen, upgrades) = await PumpCountingAsync(Split(wire, chunk));
        Assert.Equal(1, upgrades); // the head after the upgrade is stream data, not a request
        byte[] expected = [.. Bytes(first), .. UpgradeRequestHead.Rewrite(Bytes(ExecStartHead), Bytes(ExecStartBody)), .. stdin, .. Bytes(ExecStartHead)];
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task PassesAnythingElseUnchanged()
    {
        var random = new Random(99);
        for (int i = 0; i < 50; i++)
        {
            var data = new byte[random.Next(1, 5000)];
            random.NextBytes(data);
            Assert.Equal(data, await PumpAsync(Split(data, random.Next(1, 600))));
        }
        byte[] chunked = Bytes("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + ExecStartHead + ExecStartBody);
        Assert.Equal(chunked, await PumpAsync([chunked]));
        byte[] truncated = Bytes(ExecStartHead + ExecStartBody[..10]);
        Assert.Equal(truncated, await PumpAsync([truncated]));
    }
}
