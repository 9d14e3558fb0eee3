using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace PSContainer.Api;

/// <summary>
/// Lets a hijacked connection outlive the client's half-close. A client attached without stdin (the docker CLI's
/// docker run) sends FIN right after the 101 and keeps reading until the stream ends; Kestrel takes any end of input
/// as the connection closing and aborts it, so the output would be lost. Once a handler marks its connection
/// hijacked, the end of input no longer reaches Kestrel's HTTP layer; the connection ends when the handler returns,
/// or when a write to a client that is really gone fails.
/// Its input also goes through <see cref="UpgradeBodyTransport"/>, so that an upgrade request with a body (the docker
/// CLI's attached exec start) reaches Kestrel as one it can upgrade; the pump notes an upgrade request's head as it
/// passes, and a FIN right behind such a request waits (bounded) for its handler to hijack the connection, so it
/// does not abort a hijack either.
/// </summary>
public sealed class HalfCloseConnection : ConnectionContext
{
    private const string HijackedKey = "psc-api.hijacked";
    private const string HijackDecisionKey = "psc-api.hijack-decision";
    // Set by a handler's MarkHijacked; awaited (bounded) when the client's FIN follows an upgrade request.
    private readonly TaskCompletionSource hijackDecision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool upgradeRequested;
    private readonly ConnectionContext inner;
    private readonly CancellationTokenSource closed = new();
    private readonly CancellationTokenRegistration registration;
    private readonly UpgradeBodyTransport rewriting;
    private IDuplexPipe transport;

    private HalfCloseConnection(ConnectionContext inner)
    {
        this.inner = inner;
        inner.Items[HijackDecisionKey] = hijackDecision;
        transport = rewriting = new UpgradeBodyTransport(inner.Transport, () => upgradeRequested = true);
        // The transport reports the client's FIN at once, perhaps before the upgrade request it followed was read
        // (a client may send its request, its stdin and FIN in one go): decided once the pump has read up to the FIN.
        registration = inner.ConnectionClosed.Register(() => _ = CloseUnlessHijacked());
    }

    private async Task CloseUnlessHijacked()
    {
        await rewriting.InputEnded.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // An upgrade request's FIN is kept from Kestrel only if its handler does hijack the connection: a request
        // that merely carries the headers (GET /events with Upgrade: tcp) is closed as any other once that is clear.
        if (upgradeRequested && !inner.Items.ContainsKey(HijackedKey))
            await hijackDecision.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!inner.Items.ContainsKey(HijackedKey))
        {
            try
            {
                closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the connection was disposed meanwhile
            }
        }
    }

    /// <summary>The connection middleware: wraps every accepted connection.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => context => next(new HalfCloseConnection(context));

    /// <summary>Called by a handler before it upgrades the request: from then on a FIN from the client is not an abort.</summary>
    public static void MarkHijacked(HttpContext http)
    {
        if (http.Features.Get<IConnectionItemsFeature>() is not { } items) return;
        items.Items[HijackedKey] = true;
        if (items.Items.TryGetValue(HijackDecisionKey, out var decision) && decision is TaskCompletionSource tcs) tcs.TrySetResult();
    }

    /// <summary>Called when a request's handling has ended: a FIN held back for an upgrade request that was not
    /// hijacked (a plain request that only carried the headers) need not wait any longer.</summary>
    public static void RequestEnded(HttpContext http)
    {
        if (http.Features.Get<IConnectionItemsFeature>() is { } items
            && items.Items.TryGetValue(HijackDecisionKey, out var decision) && decision is TaskCompletionSource tcs)
            tcs.TrySetResult();
    }

    public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }
    public override IFeatureCollection Features => inner.Features;
    public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }
    public override IDuplexPipe Transport { get => transport; set => transport = value; }
    public override CancellationToken ConnectionClosed { get => closed.Token; set => throw new NotSupportedException(); }
    public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }
    public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

    public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

    public override void Abort() => inner.Abort();

    public override async ValueTask DisposeAsync()
    {
        await registration.DisposeAsync();
        await rewriting.StopAsync();
        closed.Dispose();
        await inner.DisposeAsync();
    }
}
