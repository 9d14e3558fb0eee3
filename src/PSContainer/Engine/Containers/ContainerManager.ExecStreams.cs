using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// The Docker API's attached exec: the process's stdio handed over as byte streams.
public sealed partial class ContainerManager
{
    /// <summary>
    /// Starts an exec without a terminal whose stdout and stderr the caller reads as bytes; with
    /// <paramref name="withInput"/> its stdin is a pipe the caller writes and closes, else /dev/null.
    /// </summary>
    public StreamingExec StartStreamingExec(string idOrName, ExecOptions options, bool withInput)
    {
        var (runtime, record, processFile) = PrepareExec(idOrName, options, terminal: null);
        try
        {
            var (pid, stdin, stdout, stderr) = ProcessSpawner.Start(runtime.ExecPath,
                [runtime.Binary, "--root", runtime.Root, "exec", "--process", processFile, record.Id], ExecEnvironment, withInput);
            return new StreamingExec(pid, stdin, stdout, stderr, processFile);
        }
        catch
        {
            File.Delete(processFile);
            throw;
        }
    }
}
