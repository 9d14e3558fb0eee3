using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Gets the lifecycle events of containers (create, start, kill, die, oom, stop, destroy, rename), images (pull,
/// push, tag, untag, delete, load, save, import), networks (create, connect, disconnect, destroy) and volumes (create, destroy): docker events.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
public sealed class GetContainerEventCommand : PSContainerCmdlet
{
    /// <summary>Only events of objects with these names (wildcards) or ids: containers, images (the reference or id),
    /// networks, volumes.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <summary>Only these actions (create, start, die, pull, tag, connect, …).</summary>
    [Parameter]
    [ValidateSet("create", "start", "kill", "die", "oom", "stop", "destroy", "rename",
        "pull", "push", "tag", "untag", "delete", "load", "save", "import", "connect", "disconnect")]
    public string[] Action { get; set; } = [];

    /// <summary>Only events of these kinds of object (docker events --filter type=…); all kinds by default.</summary>
    [Parameter]
    [ValidateSet("container", "image", "network", "volume")]
    public string[] Type { get; set; } = [];

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
            foreach (var e in Engine.Service.RecordedEvents(since, until, Follow, Cancellation))
            {
                if (Type.Length > 0 && !Type.Contains(e.Type, StringComparer.OrdinalIgnoreCase)) continue;
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
