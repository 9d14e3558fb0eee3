using System.Runtime.InteropServices;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>The container side of an interactive session: an exec's pty master, or a monitor's attach socket.</summary>
public interface ITerminalConnection : IDisposable
{
    /// <summary>The fd to poll for the container's output.</summary>
    int OutputFd { get; }

    /// <summary>Reads the container's output: bytes read, or 0 when there will be no more.</summary>
    int ReadOutput(Span<byte> buffer);

    /// <summary>Sends keystrokes to the container; false when it no longer takes any.</summary>
    bool SendInput(ReadOnlySpan<byte> data);

    /// <summary>Gives the container's terminal a new window size.</summary>
    void Resize(int rows, int columns);

    /// <summary>True once the container's process has ended (its output may still be draining).</summary>
    bool HasEnded { get; }
}

/// <summary>How a relay ended.</summary>
public enum RelayEnd
{
    /// <summary>The process ended (or its terminal closed).</summary>
    Exited,
    /// <summary>The user typed the detach keys (Ctrl+P Ctrl+Q); the process goes on.</summary>
    Detached,
    /// <summary>The caller cancelled (the pipeline was stopped).</summary>
    Cancelled,
}

/// <summary>
/// Copies between the user's terminal and a container's, as docker's attach does: the user's terminal goes raw
/// (every key, Ctrl+C included, reaches the container) and is ALWAYS put back, window-size changes (SIGWINCH) are
/// forwarded, and with detach keys Ctrl+P Ctrl+Q leaves the process running. One thread and poll(): nothing is
/// left blocked in a read of the user's terminal after the session.
/// </summary>
public static class TerminalRelay
{
    public const byte CtrlP = 0x10, CtrlQ = 0x11;

    public static RelayEnd Run(int input, int output, ITerminalConnection connection, bool detachKeys, CancellationToken cancel) =>
        Run(input, output, connection, detachKeys ? DetachKeys.Default : [], cancel);

    /// <summary>The same with a detach sequence of the user's (<see cref="DetachKeys.Parse"/>); empty: none.</summary>
    public static RelayEnd Run(int input, int output, ITerminalConnection connection, byte[] detachKeys, CancellationToken cancel)
    {
        int resized = 0;
        using var winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Volatile.Write(ref resized, 1));
        byte[] saved = Terminal.MakeRaw(input);
        try
        {
            if (Terminal.GetSize(input) is { } start) connection.Resize(start.Rows, start.Columns);
            return Copy(input, output, connection, detachKeys, ref resized, cancel);
        }
        finally
        {
            Terminal.Restore(input, saved);
        }
    }

    private static RelayEnd Copy(int input, int output, ITerminalConnection connection, byte[] detachKeys, ref int resized, CancellationToken cancel)
    {
        var buffer = new byte[16384];
        var keys = new DetachKeyFilter(detachKeys);
        Span<UnixSocket.PollFd> fds = stackalloc UnixSocket.PollFd[2];
        bool inputOpen = true;
        while (true)
        {
            if (cancel.IsCancellationRequested) return RelayEnd.Cancelled;
            if (Interlocked.Exchange(ref resized, 0) == 1 && Terminal.GetSize(input) is { } size)
                connection.Resize(size.Rows, size.Columns);
            fds[0] = new UnixSocket.PollFd { Fd = connection.OutputFd, Events = UnixSocket.POLLIN };
            fds[1] = new UnixSocket.PollFd { Fd = inputOpen ? input : -1, Events = UnixSocket.POLLIN };
            // 100 ms: how soon a resize, a cancel or the end of a process whose terminal stays open is noticed.
            if (UnixSocket.Poll(fds, 100) == 0)
            {
                if (connection.HasEnded) return Drain(output, connection, buffer);
                continue;
            }
            if (fds[0].Revents != 0)
            {
                int n = connection.ReadOutput(buffer);
                if (n <= 0) return RelayEnd.Exited;
                UnixSocket.WriteAll(output, buffer.AsSpan(0, n));
            }
            if (fds[1].Revents != 0)
            {
                int n = UnixSocket.Read(input, buffer);
                if (n <= 0)
                {
                    inputOpen = false; // the user's terminal went away: keep showing output until the process ends
                    continue;
                }
                var (send, detach) = keys.Filter(buffer.AsSpan(0, n));
                if (send.Length > 0) connection.SendInput(send);
                if (detach) return RelayEnd.Detached;
            }
        }
    }

    /// <summary>The process ended while its terminal stayed open (a child holds it): show what is already there.</summary>
    private static RelayEnd Drain(int output, ITerminalConnection connection, byte[] buffer)
    {
        while (UnixSocket.Wait(connection.OutputFd, UnixSocket.POLLIN, 50))
        {
            int n = connection.ReadOutput(buffer);
            if (n <= 0) break;
            UnixSocket.WriteAll(output, buffer.AsSpan(0, n));
        }
        return RelayEnd.Exited;
    }
}

/// <summary>
/// A detach sequence on a client's input (docker's default Ctrl+P Ctrl+Q, or --detach-keys): keys that may start
/// the sequence are held back until the next key shows whether it goes on; a key that breaks it sends the held keys
/// with it (as docker's escape proxy does).
/// </summary>
public sealed class DetachKeyFilter
{
    private readonly byte[] sequence;
    private int matched;

    public DetachKeyFilter(bool enabled) : this(enabled ? DetachKeys.Default : []) { }

    /// <summary>An empty sequence never detaches.</summary>
    public DetachKeyFilter(byte[] sequence) => this.sequence = sequence;

    /// <summary>What to send on, and whether the sequence is complete (the bytes before it are still sent).</summary>
    public (byte[] Send, bool Detach) Filter(ReadOnlySpan<byte> keys)
    {
        if (sequence.Length == 0) return (keys.ToArray(), false);
        var send = new List<byte>(keys.Length + sequence.Length);
        foreach (byte b in keys)
        {
            if (b == sequence[matched])
            {
                if (++matched == sequence.Length) return (send.ToArray(), true);
                continue;
            }
            send.AddRange(sequence.AsSpan(0, matched));
            matched = b == sequence[0] ? 1 : 0;
            if (matched == 0) send.Add(b);
        }
        return (send.ToArray(), false);
    }
}
