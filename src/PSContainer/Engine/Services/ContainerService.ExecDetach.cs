using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Engine.Services;

// docker exec -it's detach: the client leaves on its detach keys and the process goes on, as under dockerd (the exec
// stays Running and gets its exit code when the process ends). Nobody reads its terminal any more, so its output is
// read and dropped here until then: a full pty would otherwise stop the process on its next write.
public sealed partial class ContainerService
{
    public sealed partial class ExecRun
    {
        private int detached;

        /// <summary>
        /// Carries the exec's terminal on a terminal of the caller's own (Enter-ContainerSession: its descriptors in
        /// raw mode, window changes followed), with the exec's detach keys when it attached stdin. The end, and the exit
        /// code when the process ended; after a detach the process goes on (see <see cref="ExecRun"/>).
        /// </summary>
        public (RelayEnd End, int? ExitCode) RelayTerminal(int input, int output, CancellationToken cancel)
        {
            var t = terminal ?? throw new InvalidOperationException($"Exec {Exec.Id} has no terminal");
            var end = TerminalRelay.Run(input, output, t, Exec.Streams.Stdin ? Exec.Streams.DetachKeys : [], cancel);
            if (end == RelayEnd.Detached)
            {
                KeepRunningDetached(t);
                return (end, null);
            }
            if (end == RelayEnd.Cancelled) return (end, null); // Dispose ends the process
            int code = t.Wait();
            Finish(code);
            return (end, code);
        }

        /// <summary>What the runtime itself reported for a terminal exec (its process's output went to the terminal).</summary>
        public string RuntimeErrors => terminal?.RuntimeErrors ?? "";

        /// <summary>The client detached: from here a task of its own owns the terminal, drains it, and records the exit.</summary>
        private void KeepRunningDetached(TerminalExec t)
        {
            if (Interlocked.Exchange(ref detached, 1) == 1) return;
            Interlocked.Exchange(ref finished, 1); // neither the carrier's end nor Dispose finishes the exec now
            _ = Task.Factory.StartNew(() => DrainUntilExit(t), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        private void DrainUntilExit(TerminalExec t)
        {
            int? code = null;
            var chunk = new byte[16384];
            try
            {
                // Bounded by the process's life: each round waits at most 200 ms, and ends once the runtime has exited
                // or every holder of the terminal closed it (EIO), after which the runtime's exit comes.
                while (!t.HasEnded)
                    if (UnixSocket.Wait(t.OutputFd, UnixSocket.POLLIN, 200) && t.ReadOutput(chunk) <= 0) break;
                code = t.Wait();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The terminal went away under us: the exit is unknown (recorded as -1, as for a lost exec).
            }
            finally
            {
                // Unhooked from the exec (a resize can no longer reach it) before its terminal is closed.
                service.Finish(Exec, code);
                t.Dispose();
            }
        }
    }
}
