using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Engine.Services;

/// <summary>Which stream a chunk of a process's output belongs to.</summary>
public enum OutputStream
{
    Stdout = 1,
    Stderr = 2,
    /// <summary>A terminal's output: stdout and stderr as one raw stream.</summary>
    Terminal = 3,
}

/// <summary>Where a front end takes a process's output: called once at a time, in order.</summary>
public delegate ValueTask OutputWriter(OutputStream stream, ReadOnlyMemory<byte> data, CancellationToken cancel);

/// <summary>
/// <see cref="TerminalRelay"/> for a front end whose client is a stream rather than a terminal (the Docker API's
/// hijacked connection): the terminal's output goes to an <see cref="OutputWriter"/>, the client's bytes to the
/// terminal, optionally through docker's detach keys. The client's window size comes by separate resize calls.
/// </summary>
public static class TerminalStreams
{
    public static Task<RelayEnd> RelayAsync(ITerminalConnection terminal, Stream? input, OutputWriter output, bool detachKeys, CancellationToken cancel) =>
        RelayAsync(terminal, input, output, detachKeys ? DetachKeys.Default : [], cancel);

    /// <summary>The same with a detach sequence of the client's (<see cref="DetachKeys.Parse"/>); empty: none.</summary>
    public static async Task<RelayEnd> RelayAsync(ITerminalConnection terminal, Stream? input, OutputWriter output, byte[] detachKeys, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        int detached = 0;
        var copying = input is null ? Task.CompletedTask : Task.Run(async () =>
        {
            var keys = new DetachKeyFilter(detachKeys);
            var buffer = new byte[16384];
            try
            {
                int n;
                // The end of the client's input leaves the terminal as it is (a terminal has no end of input to pass on).
                while ((n = await input.ReadAsync(buffer, stop.Token).ConfigureAwait(false)) > 0)
                {
                    var (send, detach) = keys.Filter(buffer.AsSpan(0, n));
                    if (send.Length > 0 && !terminal.SendInput(send)) return;
                    if (detach)
                    {
                        Volatile.Write(ref detached, 1);
                        return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the client went away, or the relay ended
            }
        }, CancellationToken.None);
        try
        {
            var chunk = new byte[16384];
            while (true)
            {
                if (Volatile.Read(ref detached) == 1) return RelayEnd.Detached;
                if (cancel.IsCancellationRequested) return RelayEnd.Cancelled;
                // 100 ms: how soon a detach, a cancel or the end of a process whose terminal stays open is noticed.
                int n = await Task.Run(() => UnixSocket.Wait(terminal.OutputFd, UnixSocket.POLLIN, 100) ? Math.Max(terminal.ReadOutput(chunk), -1) : -2, CancellationToken.None).ConfigureAwait(false);
                if (n == -2)
                {
                    if (!terminal.HasEnded) continue;
                    // Ended while a child holds the terminal open: what is already there, then done.
                    while ((n = await Task.Run(() => UnixSocket.Wait(terminal.OutputFd, UnixSocket.POLLIN, 50) ? terminal.ReadOutput(chunk) : 0, CancellationToken.None).ConfigureAwait(false)) > 0)
                        await output(OutputStream.Terminal, chunk.AsMemory(0, n), cancel).ConfigureAwait(false);
                    return RelayEnd.Exited;
                }
                if (n <= 0) return RelayEnd.Exited;
                await output(OutputStream.Terminal, chunk.AsMemory(0, n), cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }
}
