using System.Collections.Concurrent;
using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Images;

namespace PSContainer.Host;

/// <summary>
/// What every cmdlet shares: the engine, engine errors turned into ErrorRecords, and long work run off the
/// pipeline thread with its progress and cancellation (Ctrl+C) brought back to it.
/// </summary>
public abstract class PSContainerCmdlet : PSCmdlet
{
    private CancellationTokenSource? stopping;
    private ContainerEngine? engine;

    protected ContainerEngine Engine => engine ??= ContainerEngine.ForEnvironment();

    protected CancellationToken Cancellation => (stopping ??= new CancellationTokenSource()).Token;

    protected override void StopProcessing()
    {
        stopping?.Cancel();
        base.StopProcessing();
    }

    protected static ErrorRecord ToErrorRecord(EngineException e) =>
        new(e, e.ErrorId, Enum.TryParse<ErrorCategory>(e.Kind.ToString(), out var category) ? category : ErrorCategory.NotSpecified, e.Target);

    /// <summary>Reports an engine failure for one item and lets the pipeline go on with the next.</summary>
    protected void WriteEngineError(EngineException e) => WriteError(ToErrorRecord(e));

    protected void ThrowEngineError(EngineException e) => ThrowTerminatingError(ToErrorRecord(e));

    /// <summary>Writes what the engine wants the user to know (a fallback it took); call on the pipeline thread.</summary>
    protected void WriteEngineWarnings()
    {
        if (engine is null) return;
        foreach (string w in engine.Containers.TakeWarnings()) WriteWarning(w);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread while this thread writes its progress records (PowerShell
    /// only accepts Write-* calls from the pipeline thread).
    /// </summary>
    protected T RunWithProgress<T>(Func<IProgress<ProgressInfo>, CancellationToken, T> work, int parentActivityId = 0)
    {
        var queue = new BlockingCollection<ProgressInfo>();
        var reporter = new Progress(queue);
        var task = Task.Run(() =>
        {
            try { return work(reporter, Cancellation); }
            finally { queue.CompleteAdding(); }
        });
        var latest = new Dictionary<int, ProgressInfo>();
        foreach (var info in queue.GetConsumingEnumerable())
        {
            int baseId = 1 + parentActivityId * 100;
            var record = new ProgressRecord(baseId + info.Id, info.Activity, info.Status)
            {
                PercentComplete = info.Percent,
                RecordType = info.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                ParentActivityId = info.Id == 0 ? -1 : baseId,
            };
            latest[info.Id] = info;
            WriteProgress(record);
        }
        foreach (var (id, info) in latest)
        {
            if (info.Completed) continue;
            int baseId = 1 + parentActivityId * 100;
            WriteProgress(new ProgressRecord(baseId + id, info.Activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
    }

    private sealed class Progress(BlockingCollection<ProgressInfo> queue) : IProgress<ProgressInfo>
    {
        public void Report(ProgressInfo value)
        {
            if (!queue.IsAddingCompleted) queue.TryAdd(value);
        }
    }
}
