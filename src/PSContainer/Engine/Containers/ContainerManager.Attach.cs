using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// docker attach: the terminal of a container started with -Tty is held by its monitor, which serves it on a unix
// socket in the container's run dir (protocol: AttachProtocol and monitor/console.c). Without a terminal, a container
// made with -Interactive gets a stdin pipe its monitor holds, served on the same socket (input only: monitor/stdin.c).
public sealed partial class ContainerManager
{
    private string AttachSocketPath(string id) => Path.Combine(RunDir(id), "attach");

    /// <summary>The monitor's options for the container's input: its terminal, or its stdin pipe.</summary>
    private List<string> MonitorAttachArgs(ContainerRecord record)
    {
        var o = record.Options;
        if (o.Tty) return ["--tty", "--attach-socket", AttachSocketPath(record.Id)];
        if (!o.Interactive) return [];
        var args = new List<string> { "--stdin", "--attach-socket", AttachSocketPath(record.Id) };
        if (o.StdinOnce) args.Add("--stdin-once");
        return args;
    }

    /// <summary>Connects to a running container's terminal. Only a container made with -Tty has one.</summary>
    public AttachConnection Attach(string idOrName)
    {
        var record = RunningRecord(idOrName);
        if (!record.Options.Tty)
            throw new EngineException("NoTerminal", ErrorKind.InvalidOperation, record.Name,
                $"Container {record.Name} has no terminal to attach to: create it with -Interactive -Tty (or use Enter-ContainerSession without -Attach for a new process).");
        return ConnectAttachSocket(record);
    }

    /// <summary>Connects to the stdin pipe of a running container made with -Interactive and no -Tty: input frames
    /// only (the output is in the log). Closing it ends this client's input (with StdinOnce, the container's).</summary>
    public AttachConnection AttachStdinPipe(string idOrName)
    {
        var record = RunningRecord(idOrName);
        if (record.Options.Tty || !record.Options.Interactive)
            throw new EngineException("NoStdin", ErrorKind.InvalidOperation, record.Name,
                $"Container {record.Name} has no stdin pipe: it was made {(record.Options.Tty ? "with -Tty (attach to its terminal)" : "without -Interactive")}.");
        return ConnectAttachSocket(record);
    }

    private AttachConnection ConnectAttachSocket(ContainerRecord record)
    {
        try
        {
            // Through /proc/self/fd/N of the run dir: its path can be longer than a socket address may be.
            int fd = UnixSocket.ConnectInDirectory(RunDir(record.Id), "attach");
            return new AttachConnection(fd, record.Id, record.Name);
        }
        catch (NativeException e)
        {
            throw new EngineException("AttachFailed", ErrorKind.ResourceUnavailable, record.Name, $"Cannot attach to {record.Name}: {e.Message}", e);
        }
    }
}

/// <summary>A connection to a monitor's attach socket. Closing it detaches; the container goes on.</summary>
public sealed class AttachConnection : ITerminalConnection
{
    private int fd;

    internal AttachConnection(int fd, string id, string name)
    {
        this.fd = fd;
        Id = id;
        Name = name;
    }

    public string Id { get; }
    public string Name { get; }

    public int OutputFd => fd;

    /// <summary>The terminal's output; 0 when the monitor closed the connection (the container's terminal closed).</summary>
    public int ReadOutput(Span<byte> buffer) => Math.Max(UnixSocket.Read(fd, buffer), 0);

    public bool SendInput(ReadOnlySpan<byte> data) => UnixSocket.WriteAll(fd, AttachProtocol.InputFrames(data));

    public void Resize(int rows, int columns) => UnixSocket.WriteAll(fd, AttachProtocol.ResizeFrame(rows, columns));

    /// <summary>Closes the container's stdin pipe after what was sent (no terminal only): it reads EOF.</summary>
    public bool EndInput() => UnixSocket.WriteAll(fd, AttachProtocol.CloseStdinFrame());

    /// <summary>The monitor closes the connection when the process ends; that is the end this relay waits for.</summary>
    public bool HasEnded => false;

    /// <summary>
    /// Detaches once the monitor has read what was sent (a resize made on a connection of its own): closing at once
    /// could end the connection before the monitor read it. The sending side is shut and the connection drained until
    /// the monitor closes it, within <paramref name="timeout"/>.
    /// </summary>
    public void DetachAfterDelivery(TimeSpan timeout)
    {
        using (var socket = new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(fd, ownsHandle: false)))
        {
            try
            {
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                var deadline = DateTime.UtcNow + timeout;
                var buffer = new byte[4096];
                while (DateTime.UtcNow < deadline)
                {
                    if (!socket.Poll(TimeSpan.FromMilliseconds(50), System.Net.Sockets.SelectMode.SelectRead)) continue;
                    if (socket.Receive(buffer) <= 0) break; // the monitor read up to our end and closed
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // the monitor is gone: nothing left to deliver to
            }
        }
        Dispose();
    }

    /// <summary>Abandons the connection from another thread: a <see cref="SendInput"/> blocked because the container
    /// does not read returns false. <see cref="Dispose"/> still closes it, once that writer is done.</summary>
    public void Abort() => UnixSocket.Shutdown(Volatile.Read(ref fd));

    public void Dispose()
    {
        int was = Interlocked.Exchange(ref fd, -1);
        UnixSocket.Close(was);
    }
}
