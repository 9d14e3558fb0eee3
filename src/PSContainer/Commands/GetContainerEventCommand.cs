using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the lifecycle events of containers: create, start, kill, die, oom, stop, destroy, rename (docker events).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
public sealed class GetContainerEventCommand : PSContainerCmdlet
{
    /// <summary>Only events of containers with these names (wildcards) or ids.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <summary>Only these actions (create, start, die, …).</summary>
    [Parameter]
    [ValidateSet("create", "start", "kill", "die", "oom", "stop", "destroy", "rename")]
    public string[] Action { get; set; } = [];

    /// <summary>Only events at or after this time.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Only events at or before this time; with -Follow, stop then. Must be after -Since.</summary>
    [Parameter]
    public DateTime? Until { get; set; }

    /// <summary>Keep writing new events as they happen, until -Until or Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void EndProcessing()
    {
        DateTime? since = Since?.ToUniversalTime(), until = Until?.ToUniversalTime();
        // An empty or reversed window can hold no event: refused rather than answered with nothing (or, with -Follow,
        // with a wait that ends at once).
        if (since is DateTime s && until is DateTime u && u <= s)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(u == s
                    ? $"-Until ({Until:O}) equals -Since: the time window is empty; give an -Until after -Since."
                    : $"-Until ({Until:O}) is before -Since ({Since:O}): the time window is negative."),
                "InvalidTimeRange", ErrorCategory.InvalidArgument, Until));
        var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        try
        {
            foreach (var e in Engine.Containers.Events(since, until, Follow, TimeSpan.FromMilliseconds(200), Cancellation))
            {
                if (patterns.Count > 0 && !patterns.Any(p => p.IsMatch(e.Name) || p.IsMatch(e.Id) || (Name.Any(n => n.Length >= 4 && e.Id.StartsWith(n, StringComparison.Ordinal))))) continue;
                if (Action.Length > 0 && !Action.Contains(e.Action, StringComparer.OrdinalIgnoreCase)) continue;
                WriteObject(e);
            }
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
        if (Stopping || Cancellation.IsCancellationRequested) throw new PipelineStoppedException();
    }
}
