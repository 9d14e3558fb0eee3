using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// A psc-dns process (the C resolver, as built into out/PSContainer) on 127.0.0.1:&lt;port&gt; with a private config
/// directory and, if asked, a fake upstream resolver at a random 127.x.y.z:53 played by the test. Needs root (psc-dns
/// drops it, which only root can do).
/// </summary>
internal sealed class PscDnsProcess : IDisposable
{
    public readonly string Dir = Directory.CreateTempSubdirectory("psc-dns-test-").FullName;
    public readonly int Port = Random.Shared.Next(30000, 40000);
    public readonly UdpClient? Upstream;
    private readonly Process process;

    public static string? Binary()
    {
        if (Environment.GetEnvironmentVariable("PSCONTAINER_DNS_BINARY") is { Length: > 0 } p) return File.Exists(p) ? p : null;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "PSContainer.sln")))
                return File.Exists(Path.Combine(d.FullName, "out/PSContainer/psc-dns")) ? Path.Combine(d.FullName, "out/PSContainer/psc-dns") : null;
        return null;
    }

    public static void SkipUnlessRunnable()
    {
        Skip.If(Binary() is null, "psc-dns is not built (dotnet pwsh ./build.ps1 build)");
        Skip.If(Environment.UserName != "root", "psc-dns drops root, so it must start as root");
    }

    public PscDnsProcess(string records, bool upstream)
    {
        Directory.CreateDirectory(Path.Combine(Dir, "config"));
        File.WriteAllText(Path.Combine(Dir, "config", "net"), "listen 127.0.0.1\n" + records);
        string resolv = "";
        if (upstream)
        {
            var address = IPAddress.Parse($"127.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(2, 250)}");
            Upstream = new UdpClient(new IPEndPoint(address, 53));
            resolv = $"nameserver {address}\n";
        }
        File.WriteAllText(Path.Combine(Dir, "resolv.conf"), resolv);
        var psi = new ProcessStartInfo(Binary()!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "--config-dir", Path.Combine(Dir, "config"), "--port", Port.ToString(), "--ready-file", Path.Combine(Dir, "ready"), "--resolv-conf", Path.Combine(Dir, "resolv.conf") })
            psi.ArgumentList.Add(a);
        process = Process.Start(psi)!;
        string ready = Path.Combine(Dir, "ready");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !(File.Exists(ready) && File.ReadAllText(ready).EndsWith('\n'))) Thread.Sleep(10);
        Assert.Equal($"ok {process.Id}\n", File.Exists(ready) ? File.ReadAllText(ready) : "");
    }

    /// <summary>Sends <paramref name="message"/> from a fresh socket; the reply, or null after <paramref name="ms"/>.</summary>
    public byte[]? Ask(byte[] message, int ms = 2000, UdpClient? from = null)
    {
        using var own = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var client = from ?? own;
        client.Send(message, message.Length, new IPEndPoint(IPAddress.Loopback, Port));
        return Receive(client, ms)?.Bytes;
    }

    public static (byte[] Bytes, IPEndPoint From)? Receive(UdpClient socket, int ms)
    {
        socket.Client.ReceiveTimeout = ms;
        try
        {
            var from = new IPEndPoint(IPAddress.Any, 0);
            byte[] b = socket.Receive(ref from);
            return (b, from);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.WaitForExit(5000);
        process.Dispose();
        Upstream?.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>The C psc-dns answers from its records as the .NET one did (A, AAAA, PTR, NXDOMAIN, NOTIMP, SERVFAIL).</summary>
public class PscDnsAnswerTests
{
    private const string Records = "10.89.0.2\tweb www abc123  # a comment\n# comment\n10.89.0.3 db\nbad line\n10.89.0.4 WEB\n";

    [SkippableFact]
    public void Answers_every_address_of_a_name_without_case_authoritatively_with_ttl_5()
    {
        PscDnsProcess.SkipUnlessRunnable();
        using var dns = new PscDnsProcess(Records, upstream: false);
        byte[] q = DnsMessage.BuildQuery(0x1234, "Web", DnsMessage.TypeA);
        byte[] r = dns.Ask(q)!;
        Assert.NotNull(r);
        var (rcode, addresses, _) = DnsMessage.ParseResponse(r);
        Assert.Equal(DnsMessage.RcodeNoError, rcode);
        Assert.Equal([0x0A590002u, 0x0A590004u], addresses);
        Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(r));
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(2));
        Assert.Equal(0x8000 | 0x0400 | 0x0100 | 0x0080, flags); // QR, AA, RD echoed, RA, NOERROR
        int answer = q.Length; // the question is copied as it came
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(answer + 6)));
        Assert.Equal(q.AsSpan(12).ToArray(), r.AsSpan(12, q.Length - 12).ToArray());
        Assert.Equal([0x0A590002u], DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(2, "abc123", DnsMessage.TypeA))!).Addresses);
        Assert.Equal(DnsMessage.RcodeNxDomain, DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(3, "bad", DnsMessage.TypeA))!).Rcode);
        Assert.Equal(DnsMessage.RcodeNxDomain, DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(4, "comment", DnsMessage.TypeA))!).Rcode);
    }

    [SkippableFact]
    public void Known_names_get_an_empty_answer_for_aaaa_and_reverse_names_the_first_name()
    {
        PscDnsProcess.SkipUnlessRunnable();
        using var dns = new PscDnsProcess(Records, upstream: false);
        var aaaa = DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(5, "db", DnsMessage.TypeAaaa))!);
        Assert.Equal(DnsMessage.RcodeNoError, aaaa.Rcode);
        Assert.Empty(aaaa.Addresses);
        var ptr = DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(6, "2.0.89.10.in-addr.arpa", DnsMessage.TypePtr))!);
        Assert.Equal(["web"], ptr.Pointers);
        var none = DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(7, "9.0.89.10.in-addr.arpa", DnsMessage.TypePtr))!);
        Assert.Equal(DnsMessage.RcodeServFail, none.Rcode); // a dotted name, and no resolver to ask
    }

    [SkippableFact]
    public void Single_labels_get_nxdomain_without_being_forwarded_and_other_opcodes_or_classes_notimp()
    {
        PscDnsProcess.SkipUnlessRunnable();
        using var dns = new PscDnsProcess(Records, upstream: true);
        Assert.Equal(DnsMessage.RcodeNxDomain, DnsMessage.ParseResponse(dns.Ask(DnsMessage.BuildQuery(8, "nosuch", DnsMessage.TypeA))!).Rcode);
        Assert.Null(PscDnsProcess.Receive(dns.Upstream!, 300)); // domain-needed: never sent out
        byte[] status = DnsMessage.BuildQuery(9, "web", DnsMessage.TypeA);
        status[2] |= 0x10; // opcode 2 (status)
        Assert.Equal(DnsMessage.RcodeNotImp, DnsMessage.ParseResponse(dns.Ask(status)!).Rcode);
        byte[] chaos = DnsMessage.BuildQuery(10, "web", DnsMessage.TypeA);
        chaos[^1] = 3; // class CH
        Assert.Equal(DnsMessage.RcodeNotImp, DnsMessage.ParseResponse(dns.Ask(chaos)!).Rcode);
    }

    [SkippableTheory]
    [InlineData(new byte[] { 1, 2, 3 })]                                                  // short
    [InlineData(new byte[] { 0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 101, 98, 0, 0, 1, 0, 1 })] // a response, not a query
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 119, 101, 98, 0, 0, 1, 0, 1 })]    // two questions
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 65, 0 })]             // label runs off the end
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1 })] // compression in the question
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 101, 98, 0, 0, 1 })] // no class
    public void Drops_malformed_queries(byte[] message)
    {
        PscDnsProcess.SkipUnlessRunnable();
        using var dns = new PscDnsProcess(Records, upstream: false);
        Assert.Null(dns.Ask(message, 300));
        Assert.NotNull(dns.Ask(DnsMessage.BuildQuery(11, "web", DnsMessage.TypeA))); // and serves on
    }
}

/// <summary>psc-dns relays a resolver's reply only if it answers the query it sent (id, QR, opcode, one question, same question without case).</summary>
public class PscDnsReplyMatchTests
{
    [SkippableFact]
    public void Relays_only_the_reply_that_answers_the_query_sent()
    {
        PscDnsProcess.SkipUnlessRunnable();
        using var dns = new PscDnsProcess("", upstream: true);
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        byte[] query = DnsMessage.BuildQuery(0xBEEF, "www.Example.org", DnsMessage.TypeA);
        client.Send(query, query.Length, new IPEndPoint(IPAddress.Loopback, dns.Port));
        var asked = PscDnsProcess.Receive(dns.Upstream!, 3000);
        Assert.NotNull(asked);
        byte[] sent = asked.Value.Bytes;
        Assert.Equal(query.AsSpan(2).ToArray(), sent.AsSpan(2).ToArray()); // forwarded as it came but for the id
        var q = DnsMessage.ParseQuery(sent)!;
        byte[] Reply(byte[] question, Action<byte[]>? change = null, uint address = 0x06060606)
        {
            var r = DnsMessage.BuildResponse(question, DnsMessage.ParseQuery(question)!, DnsMessage.RcodeNoError, [address]);
            change?.Invoke(r);
            return r;
        }
        byte[] Other(string name, ushort type) { byte[] o = DnsMessage.BuildQuery(q.Id, name, type); return o; }
        var bad = new List<byte[]>
        {
            Reply(sent, r => BinaryPrimitives.WriteUInt16BigEndian(r, (ushort)(q.Id + 1))), // another id
            Reply(Other("www.example.net", DnsMessage.TypeA)),                             // another name
            Reply(Other("www.example.org", DnsMessage.TypeAaaa)),                          // another type
            Reply(sent, r => r[q.QuestionEnd - 1] = 3),                                    // class CH
            Reply(sent, r => r[2] &= 0x7F),                                                // QR clear: a query
            Reply(sent).AsSpan(0, q.QuestionEnd - 1).ToArray(),                            // truncated
            Reply(sent, r => r[5] = 2),                                                    // two questions
            Reply(sent, r => r[2] |= 0x10),                                                // opcode 2 (status)
        };
        foreach (var b in bad) dns.Upstream!.Send(b, b.Length, asked.Value.From);
        Thread.Sleep(200);
        // The genuine one echoes the question in another case, as resolvers may (0x20 encoding).
        byte[] genuine = Reply(DnsMessage.BuildQuery(q.Id, "WWW.example.ORG", DnsMessage.TypeA), address: 0x01020304);
        dns.Upstream!.Send(genuine, genuine.Length, asked.Value.From);
        var reply = PscDnsProcess.Receive(client, 3000);
        Assert.NotNull(reply);
        Assert.Equal(0xBEEF, BinaryPrimitives.ReadUInt16BigEndian(reply.Value.Bytes)); // the client's id back
        Assert.Equal([0x01020304u], DnsMessage.ParseResponse(reply.Value.Bytes).Addresses);
        Assert.Null(PscDnsProcess.Receive(client, 300)); // one query, one reply
    }
}
