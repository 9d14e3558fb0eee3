using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

// Invoke-ContainerCommand's exec: output as log records down a pipeline, input fed object by object. The Docker API's
// exec (create, start, streams on a hijacked connection) is ContainerService.Exec's.
public sealed partial class ContainerService
{
    /// <summary>Runs a command in a running container; yields its output as it comes, then <paramref name="onExit"/> gets its exit code.</summary>
    public IEnumerable<ContainerLogRecord> RunExec(string idOrName, ExecOptions options, Action<int> onExit, CancellationToken cancel) =>
        Manager.Exec(ResolveId(idOrName), options, onExit, cancel);

    /// <summary>Starts a command in a running container with its stdin open for the caller to write.</summary>
    public ExecProcess StartInputExec(string idOrName, ExecOptions options) => Manager.StartExec(ResolveId(idOrName), options, withInput: true);
}
