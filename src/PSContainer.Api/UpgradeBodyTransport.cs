using System.Buffers;
using System.IO.Pipelines;

namespace PSContainer.Api;

/// <summary>
/// A connection's transport with the input passed through a pump that rewrites an upgrade request carrying a body
/// (see <see cref="UpgradeRequestHead"/>) before Kestrel parses it. Request heads are followed one after another
/// (a head, its Content-Length body, the next head) until the connection is upgraded or holds something this pump
/// does not follow; from then on bytes pass unchanged. Output is the connection's own.
/// </summary>
public sealed class UpgradeBodyTransport : IDuplexPipe
{
    private readonly IDuplexPipe inner;
    private readonly Pipe input = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Task pump;
    private readonly Action upgrading;
    private readonly TaskCompletionSource inputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="inner">The connection's transport.</param>
    /// <param name="upgrading">Called when an upgrade request's head has passed, before any byte after it.</param>
    public UpgradeBodyTransport(IDuplexPipe inner, Action upgrading)
    {
        this.inner = inner;
        this.upgrading = upgrading;
        pump = Task.Run(Pump);
    }

    /// <summary>Completes once the pump saw the end of the client's input (or stopped): every request head before it has been read.</summary>
    public Task InputEnded => inputEnded.Task;

    public PipeReader Input => input.Reader;
    public PipeWriter Output => inner.Output;

    /// <summary>Ends the pump (the connection is being disposed) and waits for it.</summary>
    public async Task StopAsync()
    {
        try
        {
            inner.Input.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // the pump has completed the reader already
        }
        await pump.ConfigureAwait(false);
    }

    private async Task Pump()
    {
        var reader = inner.Input;
        var writer = input.Writer;
        Exception? failure = null;
        bool following = true; // still reading request heads
        long bodyLeft = 0;      // bytes of a plain request's body still to pass before the next head
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled) break;
                var buffer = result.Buffer;
                while (buffer.Length > 0)
                {
                    if (!following || bodyLeft > 0)
                    {
                        long n = following ? Math.Min(bodyLeft, buffer.Length) : buffer.Length;
                        foreach (var segment in buffer.Slice(0, n)) writer.Write(segment.Span);
                        bodyLeft -= following ? n : 0;
                        buffer = buffer.Slice(n);
                        continue;
                    }
                    // A head is small (bounded by MaxHeadLength + MaxBodyLength): copied out to parse it whole.
                    var window = buffer.Slice(0, Math.Min(buffer.Length, UpgradeRequestHead.MaxHeadLength + UpgradeRequestHead.MaxBodyLength)).ToArray();
                    var head = UpgradeRequestHead.Parse(window);
                    if (head.Kind == UpgradeRequestHead.Kind.Incomplete && !result.IsCompleted) break;
                    if (head.Kind is UpgradeRequestHead.Kind.UpgradeWithBody or UpgradeRequestHead.Kind.Upgrade)
                    {
                        long length = head.Length + head.BodyLength;
                        if (window.Length < length)
                        {
                            if (result.IsCompleted) following = false; // the body never came: Kestrel sees the request as sent
                            else break;
                            continue;
                        }
                        writer.Write(head.Kind == UpgradeRequestHead.Kind.Upgrade ? window.AsSpan(0, head.Length)
                            : UpgradeRequestHead.Rewrite(window.AsSpan(0, head.Length), window.AsSpan(head.Length, (int)head.BodyLength)));
                        buffer = buffer.Slice(length);
                        following = false;
                        upgrading();
                        continue;
                    }
                    if (head.Kind == UpgradeRequestHead.Kind.Plain)
                    {
                        foreach (var segment in buffer.Slice(0, head.Length)) writer.Write(segment.Span);
                        buffer = buffer.Slice(head.Length);
                        bodyLeft = head.BodyLength;
                        continue;
                    }
                    following = false; // Opaque, or an incomplete head at the end of input
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                var flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || result.IsCompleted) break; // Kestrel stopped reading, or the client's input ended
            }
        }
        catch (Exception e)
        {
            failure = e; // a reset connection: Kestrel sees the same failure on its next read
        }
        inputEnded.TrySetResult();
        await reader.CompleteAsync().ConfigureAwait(false);
        await writer.CompleteAsync(failure).ConfigureAwait(false);
    }
}
