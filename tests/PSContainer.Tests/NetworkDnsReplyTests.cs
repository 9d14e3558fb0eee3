using System.Buffers.Binary;
using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

/// <summary>psc-dns relays a resolver's reply only if it answers the query it sent (DnsMessage.IsReplyTo).</summary>
public class DnsReplyMatchTests
{
    private static readonly byte[] Sent = DnsMessage.BuildQuery(0xBEEF, "www.Example.org", DnsMessage.TypeA);
    private static readonly DnsMessage.Query Q = DnsMessage.ParseQuery(Sent)!;

    private static byte[] Reply(byte[] query, Action<byte[]>? change = null)
    {
        var r = DnsMessage.BuildResponse(query, DnsMessage.ParseQuery(query)!, DnsMessage.RcodeNoError, [0x01020304u]);
        change?.Invoke(r);
        return r;
    }

    [Fact]
    public void Accepts_the_answer_to_the_query_sent() => Assert.True(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent)));

    [Fact]
    public void Accepts_the_question_echoed_in_another_case() =>
        Assert.True(DnsMessage.IsReplyTo(Sent, Q, Reply(DnsMessage.BuildQuery(0xBEEF, "WWW.example.ORG", DnsMessage.TypeA))));

    [Fact]
    public void Refuses_another_id() =>
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent, r => BinaryPrimitives.WriteUInt16BigEndian(r, 0xBEEE))));

    [Fact]
    public void Refuses_another_name_type_or_class()
    {
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(DnsMessage.BuildQuery(0xBEEF, "www.example.net", DnsMessage.TypeA))));
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(DnsMessage.BuildQuery(0xBEEF, "www.example.org", DnsMessage.TypeAaaa))));
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent, r => r[Q.QuestionEnd - 1] = 3))); // class CH
    }

    [Fact]
    public void Refuses_a_query_a_truncated_message_and_a_second_question()
    {
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Sent)); // QR clear: a query, not a reply
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent).AsSpan(0, Q.QuestionEnd - 1)));
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent, r => r[5] = 2)));
        Assert.False(DnsMessage.IsReplyTo(Sent, Q, Reply(Sent, r => r[2] |= 0x10))); // opcode 2 (status)
    }
}
