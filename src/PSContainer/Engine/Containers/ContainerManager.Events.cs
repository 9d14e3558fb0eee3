namespace PSContainer.Engine.Containers;

/// <summary>
/// docker events without a daemon: the engine appends each lifecycle change to ROOT/events.jsonl as it makes it. A
/// container's exit (die, oom) is recorded by whichever session first reconciles it (any command that looks at
/// it, or Get-ContainerEvent -Follow, which looks every poll), with the time the monitor recorded for the exit.
/// </summary>
public sealed partial class ContainerManager
{
    private EventLog? eventLog;

    public EventLog EventLog => eventLog ??= new EventLog(Path.Combine(paths.Root, "events.jsonl"));

    private void RecordEvent(ContainerRecord r, string action, DateTime? time = null, params (string Key, string Value)[] attributes)
    {
        // The container's labels too, as dockerd records them: docker events --filter label=… matches on them.
        var attrs = new Dictionary<string, string>(r.Options.Labels) { ["image"] = r.Image, ["name"] = r.Name };
        foreach (var (k, v) in attributes) attrs[k] = v;
        try
        {
            EventLog.Append(new ContainerEvent { Time = time ?? DateTime.UtcNow, Action = action, Id = r.Id, Name = r.Name, Attributes = attrs });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The change itself happened; only its record is lost, and the user is told.
            warnings.Enqueue($"Could not record the {action} event of container {r.Name} in {EventLog.Path}: {e.Message}");
        }
    }

    /// <summary>
    /// Records an event of another kind of object (an image, network or volume: the services make those changes) in
    /// the same log, so one reader sees them all in order. A failed write is a warning, as for a container's.
    /// </summary>
    public void RecordObjectEvent(ContainerEvent e)
    {
        try
        {
            EventLog.Append(e);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Enqueue($"Could not record the {e.Action} event of {e.Type} {e.Name} in {EventLog.Path}: {ex.Message}");
        }
    }

    /// <summary>
    /// The recorded events between <paramref name="since"/> and <paramref name="until"/>; with <paramref name="follow"/>,
    /// then every new one as it is recorded, until <paramref name="until"/> passes or cancellation.
    /// </summary>
    public IEnumerable<ContainerEvent> Events(DateTime? since, DateTime? until, bool follow, TimeSpan poll, CancellationToken cancel)
    {
        long offset = 0;
        while (true)
        {
            foreach (var e in EventLog.ReadFrom(offset, out offset))
            {
                if (since is DateTime s && e.Time < s) continue;
                if (until is DateTime u && e.Time > u) continue;
                yield return e;
            }
            if (!follow || (until is DateTime end && DateTime.UtcNow > end)) yield break;
            if (cancel.WaitHandle.WaitOne(poll)) yield break;
            // Looking at the containers records the exits that happened since (die, oom).
            List();
        }
    }
}
