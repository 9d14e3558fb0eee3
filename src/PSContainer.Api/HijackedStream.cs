using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>
/// The stream of an attach or an attached exec, as dockerd serves it. A request with Connection: Upgrade and
/// Upgrade: tcp gets 101 and the raw connection both ways: the client's bytes are the process's stdin, raw (docker
/// sends stdin unframed), and the output comes back raw for a TTY, else in docker's 8-byte frames (stdout 1,
/// stderr 2). A request without the upgrade gets 200 and the output as the answer's body, without stdin.
/// </summary>
public static class HijackedStream
{
    public delegate Task Carry(Stream? input, OutputWriter output, CancellationToken cancel);

    /// <summary>
    /// Serves the stream. With <paramref name="endOnHangUp"/> the carrying is cancelled once the client closed its
    /// connection for good (an attach: nothing else would end it while the container is quiet).
    /// </summary>
    public static async Task Serve(HttpContext ctx, bool tty, Carry carry, bool endOnHangUp = false)
    {
        var upgrade = ctx.Features.Get<IHttpUpgradeFeature>();
        // From 1.42 dockerd names the framed (non-TTY) stream for what it is.
        ctx.Response.Headers.ContentType = ApiVersion.StreamContentType(multiplexed: !tty);
        Stream? connection = null;
        Stream output;
        if (upgrade is { IsUpgradableRequest: true })
        {
            ctx.Response.Headers.Upgrade = "tcp";
            HalfCloseConnection.MarkHijacked(ctx);
            output = connection = await upgrade.UpgradeAsync();
        }
        else
        {
            await ctx.Response.StartAsync(ctx.RequestAborted);
            output = ctx.Response.Body;
        }
        // After an upgrade not RequestAborted: a client without stdin half-closes its side at once (the docker CLI
        // does), which Kestrel reports as an abort; that client is gone only when a write to it fails (or the server
        // stops). Without an upgrade the answer is an ordinary response: its client leaving aborts it.
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping,
            connection is null ? ctx.RequestAborted : CancellationToken.None);
        var watching = endOnHangUp && connection is not null ? WatchHangUp(ctx.Features.Get<IConnectionSocketFeature>()?.Socket, gone) : Task.CompletedTask;
        try
        {
            await carry(connection, Write, gone.Token);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or Microsoft.AspNetCore.Connections.ConnectionResetException
                                      || (e is OperationCanceledException && gone.IsCancellationRequested))
        {
            await gone.CancelAsync();
        }
        finally
        {
            await gone.CancelAsync();
            await watching;
            if (connection is not null) await connection.DisposeAsync();
        }

        // A client that closed its connection, not only its sending side (as a client without stdin does at once),
        // is gone. On a unix socket that is a hang-up poll() reports; over TCP it shows only when a write fails.
        static async Task WatchHangUp(System.Net.Sockets.Socket? socket, CancellationTokenSource gone)
        {
            if (socket is null) return;
            try
            {
                while (true)
                {
                    await Task.Delay(250, gone.Token);
                    if (PSContainer.Native.UnixSocket.Wait((int)socket.Handle, 0, 0))
                    {
                        await gone.CancelAsync();
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or PSContainer.Native.NativeException)
            {
                // the stream ended first, or the socket is closed already
            }
        }

        async ValueTask Write(OutputStream stream, ReadOnlyMemory<byte> data, CancellationToken cancel)
        {
            if (data.IsEmpty) return;
            if (tty || stream == OutputStream.Terminal) await output.WriteAsync(data, cancel);
            else await output.WriteAsync(FrameWriter.Frame(stream == OutputStream.Stderr ? StreamType.Stderr : StreamType.Stdout, data.Span), cancel);
            await output.FlushAsync(cancel);
        }
    }
}
