using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>Cmdlets that act on existing containers: by object from the pipeline, or by name or id.</summary>
public abstract class ContainerTargetCmdlet : PSContainerCmdlet
{
    protected const string ByName = "ByName", ByObject = "ByObject";

    /// <summary>Container names or ids (a unique id prefix works); wildcards match names.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Container[] Container { get; set; } = [];

    private readonly List<(Task<Container?> Work, string Shown)> inFlight = new();
    private readonly Dictionary<string, Task<Container?>> lastOperationOn = new(StringComparer.Ordinal);
    private bool passThru;

    /// <summary>
    /// Runs a slow operation on one container (a stop that waits out its grace period) on a thread of its own, so
    /// every container arriving on the pipeline is signalled at once and all are waited for together, as docker stop
    /// a b c does. Results and errors are written on the pipeline thread as each operation finishes; EndProcessing
    /// waits for the rest.
    /// </summary>
    protected void RunConcurrently(string key, string shown, Func<Container?> operation, bool passThru)
    {
        this.passThru = passThru;
        // Dedicated threads (LongRunning): the operations block for seconds, and on a small machine the thread pool
        // would hand them out one every half second or so.
        const TaskCreationOptions ownThread = TaskCreationOptions.LongRunning;
        // The same container named twice (web1, web*) gets its operations one after the other, as docker rm a a
        // does: the second then finds it gone, instead of racing the first.
        string id = IdOf(key);
        var work = lastOperationOn.TryGetValue(id, out var previous)
            ? previous.ContinueWith(_ => operation(), CancellationToken.None, TaskContinuationOptions.LongRunning, TaskScheduler.Default)
            : Task.Factory.StartNew(operation, CancellationToken.None, ownThread, TaskScheduler.Default);
        lastOperationOn[id] = work;
        inFlight.Add((work, shown));
        WriteFinished(waitForAll: false);
    }

    /// <summary>The container's id when the key names one; the key itself otherwise (its operation reports that).</summary>
    private string IdOf(string key)
    {
        try
        {
            return Engine.Service.ResolveId(key);
        }
        catch (EngineException)
        {
            return key;
        }
    }

    private void WriteFinished(bool waitForAll)
    {
        while (inFlight.Count > 0)
        {
            int done = inFlight.FindIndex(f => f.Work.IsCompleted);
            if (done < 0)
            {
                if (!waitForAll) return;
                // Bounded waits, so Ctrl+C (Stopping) ends the wait; the operations themselves run to their end.
                Task.WaitAny(inFlight.Select(f => (Task)f.Work).ToArray(), 250);
                if (Stopping) throw new PipelineStoppedException();
                continue;
            }
            var (work, shown) = inFlight[done];
            inFlight.RemoveAt(done);
            try
            {
                var container = work.GetAwaiter().GetResult();
                WriteEngineWarnings();
                if (passThru && container is not null) WriteObject(container);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                // Anything else is this container's failure too: reported for it, and the others still come out.
                WriteError(new ErrorRecord(e, "ContainerOperationFailed", ErrorCategory.NotSpecified, shown));
            }
        }
    }

    protected override void EndProcessing() => WriteFinished(waitForAll: true);

    /// <summary>The targets: objects by id, names expanded against existing containers when they hold wildcards.</summary>
    protected IEnumerable<(string Key, string Shown)> Targets()
    {
        if (ParameterSetName == ByObject)
        {
            foreach (var c in Container) yield return (c.Id, c.Name);
            yield break;
        }
        foreach (string name in Name)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(name))
            {
                yield return (name, name);
                continue;
            }
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            IReadOnlyList<Container> selected;
            try
            {
                selected = Engine.Service.Select(name, pattern.IsMatch, isPattern: true);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
                yield break;
            }
            foreach (var c in selected) yield return (c.Id, c.Name);
        }
    }
}
