using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using PSContainer.Engine.Networks;

namespace PSContainer.Dns;

/// <summary>
/// Forwards the queries psc-dns does not answer itself to the host's resolvers, one after the other, and relays the
/// first acceptable reply. A reply is acceptable only if it comes from the resolver asked (the socket is connected to
/// it, so the kernel drops datagrams from any other address or port) and answers our query: the id psc-dns chose at
/// random for it (not the client's, which another container on the network could predict) and the same question.
/// Anything else is ignored and the wait goes on, so a forged datagram neither poisons nor cuts short a lookup.
/// </summary>
internal sealed class Forwarder
{
    /// <summary>
    /// At most this many forwarded queries wait for a resolver at once (dnsmasq's dns-forward-max is 150, Docker's
    /// embedded resolver allows 100). Each holds a socket and its buffers for up to <see cref="Timeout"/> per resolver.
    /// </summary>
    public const int MaxInFlight = 256;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly Socket server;
    private readonly IPEndPoint[] upstream;
    private int inFlight;

    public Forwarder(Socket server, IPEndPoint[] upstream)
    {
        this.server = server;
        this.upstream = upstream;
    }

    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>
    /// Starts forwarding <paramref name="query"/> for <paramref name="client"/>, or drops it when
    /// <see cref="MaxInFlight"/> queries are already waiting (false). Dropped, not refused with SERVFAIL: a stub
    /// resolver takes SERVFAIL as an answer and fails the lookup at once, while a query that goes unanswered is sent
    /// again after its timeout, when a slot is likely free; and under a flood psc-dns does no work for the excess.
    /// </summary>
    public bool TryForward(byte[] query, DnsMessage.Query q, IPEndPoint client)
    {
        if (Interlocked.Increment(ref inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref inFlight);
            return false;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await ForwardAsync(query, q, client);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });
        return true;
    }

    private async Task ForwardAsync(byte[] query, DnsMessage.Query q, IPEndPoint client)
    {
        var buffer = new byte[4096];
        foreach (var resolver in upstream)
        {
            ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 0x10000);
            byte[] sent = (byte[])query.Clone();
            BinaryPrimitives.WriteUInt16BigEndian(sent, id);
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                s.Connect(resolver);
                await s.SendAsync(sent, SocketFlags.None);
            }
            catch (SocketException)
            {
                continue;
            }
            using var timeout = new CancellationTokenSource(Timeout);
            while (true)
            {
                int n;
                try
                {
                    n = await s.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    break; // timed out, or the resolver is unreachable (ICMP): the next one
                }
                if (!DnsMessage.IsReplyTo(sent, q, buffer.AsSpan(0, n))) continue;
                BinaryPrimitives.WriteUInt16BigEndian(buffer, q.Id);
                server.SendTo(buffer.AsSpan(0, n), client);
                return;
            }
        }
        server.SendTo(DnsMessage.BuildResponse(query, q, DnsMessage.RcodeServFail), client);
    }
}
