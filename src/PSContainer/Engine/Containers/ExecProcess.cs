using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// One running exec (docker exec without a terminal): its output lines as they come, read by two pump threads so
/// the process never blocks on a full pipe while the caller is busy writing its input; and, when asked for, its
/// stdin, which the caller writes and then closes (cat, wc, psql finish at the end of their input).
/// </summary>
public sealed class ExecProcess : IDisposable
{
    private readonly int pid;
    private readonly string processFile;
    private readonly FileStream? input;
    private readonly BlockingCollection<ContainerLogRecord> lines = new();
    private readonly Task[] readers;
    private int open = 2;
    private int? exitCode;
    private bool inputBroken;

    internal ExecProcess(int pid, SafeFileHandle? stdin, SafeFileHandle stdout, SafeFileHandle stderr, string processFile)
    {
        this.pid = pid;
        this.processFile = processFile;
        if (stdin is not null) input = new FileStream(stdin, FileAccess.Write, 1);
        readers = [Task.Run(() => Pump(stdout, "stdout")), Task.Run(() => Pump(stderr, "stderr"))];
    }

    private void Pump(SafeFileHandle handle, string stream)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(handle, FileAccess.Read, 1));
            string? line;
            while ((line = reader.ReadLine()) is not null) lines.Add(new ContainerLogRecord(DateTime.UtcNow, stream, line));
        }
        finally
        {
            if (Interlocked.Decrement(ref open) == 0) lines.CompleteAdding();
        }
    }

    /// <summary>Writes to the process's stdin. False once the process closed its stdin (as head does): the rest is dropped.</summary>
    public bool Write(ReadOnlySpan<byte> data)
    {
        if (input is null) throw new InvalidOperationException("This exec was started without stdin.");
        if (inputBroken) return false;
        try
        {
            input.Write(data);
            input.Flush();
            return true;
        }
        catch (IOException)
        {
            // EPIPE: the reader is gone. Not an error of ours: the exit code tells how the command ended.
            inputBroken = true;
            return false;
        }
    }

    /// <summary>Ends the process's input (EOF on its stdin).</summary>
    public void CloseInput()
    {
        try
        {
            input?.Dispose();
        }
        catch (IOException)
        {
            // A flush into a pipe nobody reads any more: nothing left to deliver.
        }
    }

    /// <summary>The lines that have arrived so far, without waiting.</summary>
    public IEnumerable<ContainerLogRecord> Available()
    {
        while (lines.TryTake(out var line)) yield return line;
    }

    /// <summary>Every remaining line until the process closes its output; then its exit code is known.</summary>
    public IEnumerable<ContainerLogRecord> ReadToEnd(CancellationToken cancel)
    {
        CloseInput();
        foreach (var line in lines.GetConsumingEnumerable(cancel)) yield return line;
    }

    /// <summary>Waits for the process (it has closed its output by now, or is being killed) and returns its exit code.</summary>
    public int Wait()
    {
        if (exitCode is int known) return known;
        CloseInput();
        int code = ProcessSpawner.WaitExitCode(pid);
        Task.WaitAll(readers, TimeSpan.FromSeconds(5));
        File.Delete(processFile);
        exitCode = code;
        return code;
    }

    /// <summary>Ends the exec (the runtime forwards SIGTERM to the process).</summary>
    public void Kill()
    {
        if (exitCode is null) ProcessSignal.TrySend(pid, ProcessSignal.SIGTERM);
    }

    public void Dispose()
    {
        if (exitCode is null)
        {
            Kill();
            Wait();
        }
        lines.Dispose();
    }
}
