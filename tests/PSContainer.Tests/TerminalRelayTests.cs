using System.Runtime.InteropServices;
using System.Text;
using PSContainer.Engine.Containers;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// TerminalRelay on a real pty standing in for the user's terminal: it goes raw for the session and is put back
/// however the session ends (the process ended, detach keys, cancel), the window size goes over at the start, and
/// keys and output are copied. (pwsh re-applies its own terminal modes at its prompt, so only here can a missing
/// restore be seen.)
/// </summary>
public sealed class TerminalRelayTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int pipe(int[] fds);

    /// <summary>The container side: output from a pipe the test writes, input and sizes recorded.</summary>
    private sealed class FakeConnection : ITerminalConnection
    {
        public readonly int[] Pipe = new int[2];
        public readonly List<byte> Input = new();
        public readonly List<(int, int)> Sizes = new();

        public FakeConnection() => Assert.Equal(0, pipe(Pipe));
        public int OutputFd => Pipe[0];
        public int ReadOutput(Span<byte> buffer) => Math.Max(UnixSocket.Read(Pipe[0], buffer), 0);
        public bool SendInput(ReadOnlySpan<byte> data)
        {
            lock (Input) Input.AddRange(data.ToArray());
            return true;
        }
        public void Resize(int rows, int columns) => Sizes.Add((rows, columns));
        public bool HasEnded => false;
        public void EndOutput()
        {
            close(Pipe[1]);
            Pipe[1] = -1;
        }
        public void Dispose()
        {
            if (Pipe[1] >= 0) close(Pipe[1]);
            close(Pipe[0]);
        }
    }

    private static void AssertCooked(TestPty pty) => Assert.Contains("ok", pty.TypeAndReadEcho("ok\n", 300), StringComparison.Ordinal);

    [Fact]
    public async Task TheProcessEndingRestoresTheTerminalAndOutputAndKeysAreCopied()
    {
        using var pty = new TestPty();
        using var connection = new FakeConnection();
        Terminal.SetSize(pty.Master, 27, 91);
        AssertCooked(pty);
        var relay = Task.Run(() => TerminalRelay.Run(pty.SlaveFd, pty.SlaveFd, connection, detachKeys: false, CancellationToken.None));
        Assert.True(SpinWait.SpinUntil(() => connection.Sizes.Count > 0, 5000));
        Assert.Equal((27, 91), connection.Sizes[0]);
        Assert.Equal("", pty.TypeAndReadEcho("raw", 300)); // no echo while the session runs
        Assert.True(SpinWait.SpinUntil(() => { lock (connection.Input) return connection.Input.Count == 3; }, 5000));
        Assert.True(UnixSocket.WriteAll(connection.Pipe[1], "from the container"u8));
        Assert.Contains("from the container", pty.TypeAndReadEcho("", 300), StringComparison.Ordinal);
        connection.EndOutput();
        Assert.Equal(RelayEnd.Exited, await relay.WaitAsync(TimeSpan.FromSeconds(5)));
        AssertCooked(pty);
    }

    [Fact]
    public async Task DetachKeysEndTheRelayAndRestoreTheTerminal()
    {
        using var pty = new TestPty();
        using var connection = new FakeConnection();
        var relay = Task.Run(() => TerminalRelay.Run(pty.SlaveFd, pty.SlaveFd, connection, detachKeys: true, CancellationToken.None));
        Assert.True(SpinWait.SpinUntil(() => connection.Sizes.Count > 0, 5000));
        Assert.True(UnixSocket.WriteAll(pty.Master, [(byte)'a', 0x10, 0x11]));
        Assert.Equal(RelayEnd.Detached, await relay.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("a"u8.ToArray(), connection.Input);
        AssertCooked(pty);
    }

    [Fact]
    public async Task ACancelledSessionRestoresTheTerminalToo()
    {
        using var pty = new TestPty();
        using var connection = new FakeConnection();
        using var cancel = new CancellationTokenSource();
        var relay = Task.Run(() => TerminalRelay.Run(pty.SlaveFd, pty.SlaveFd, connection, detachKeys: false, cancel.Token));
        Assert.True(SpinWait.SpinUntil(() => connection.Sizes.Count > 0, 5000));
        cancel.Cancel();
        Assert.Equal(RelayEnd.Cancelled, await relay.WaitAsync(TimeSpan.FromSeconds(5)));
        AssertCooked(pty);
    }
}
