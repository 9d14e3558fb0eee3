using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>
    /// docker events: the recorded events from <paramref name="since"/>, filtered as dockerd filters (see <see cref="EventMatches"/>), then — unless
    /// <paramref name="until"/> has passed — each new one as it is recorded, until <paramref name="until"/> or
    /// cancellation.
    /// </summary>
    public IEnumerable<ContainerEvent> Events(DateTime? since, DateTime? until, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancel)
    {
        foreach (var (key, _) in filters)
            if (key is not ("container" or "image" or "network" or "volume" or "type" or "event" or "label"))
                throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, key, $"Invalid filter '{key}'");
        // Checked above, at the call; the events are read as they are enumerated.
        // As dockerd: without either bound only what happens from now; with until alone every recorded one before it.
        DateTime? from = since ?? (until is null ? DateTime.UtcNow : null);
        return Manager.Events(from, until, follow: true, TimeSpan.FromMilliseconds(200), cancel).Where(e => EventMatches(e, filters));
    }

    /// <summary>
    /// Get-ContainerEvent's reading: every recorded event between the bounds (none given: all there are), then with
    /// <paramref name="follow"/> each new one, until <paramref name="until"/> or cancellation. Unfiltered: the cmdlet
    /// matches names with PowerShell's wildcards.
    /// </summary>
    public IEnumerable<ContainerEvent> RecordedEvents(DateTime? since, DateTime? until, bool follow, CancellationToken cancel) =>
        Manager.Events(since, until, follow, TimeSpan.FromMilliseconds(200), cancel);

    /// <summary>
    /// dockerd's event filters: values of one filter are alternatives, filters all must hold. container, network and
    /// volume: the actor's id or name, or a prefix of either; image: an image event's actor or name, or a container
    /// event's image attribute, each also without its tag; type and event: exact; label: "key" or "key=value" among
    /// the attributes (a container's or image's labels are recorded with its events).
    /// </summary>
    public static bool EventMatches(ContainerEvent e, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            if (values.Count == 0) continue;
            bool any = key switch
            {
                "container" or "network" or "volume" => values.Any(v => ActorMatches(e, v)),
                "image" => values.Any(v => ImageMatches(e, v)),
                "type" => values.Contains(e.Type, StringComparer.Ordinal),
                "event" => values.Contains(e.Action, StringComparer.Ordinal),
                "label" => values.Any(v => v.IndexOf('=') is int eq and > 0
                    ? e.Attributes.TryGetValue(v[..eq], out var value) && value == v[(eq + 1)..]
                    : e.Attributes.ContainsKey(v)),
                _ => false,
            };
            if (!any) return false;
        }
        return true;
    }

    /// <summary>dockerd's fuzzy name match: the actor's id or name begins with the value.</summary>
    private static bool ActorMatches(ContainerEvent e, string value) =>
        e.Id.StartsWith(value, StringComparison.Ordinal) || e.Name.StartsWith(value.TrimStart('/'), StringComparison.Ordinal);

    /// <summary>An image event by its actor (id or reference) or name; any other event by its image attribute.</summary>
    private static bool ImageMatches(ContainerEvent e, string value)
    {
        string? name = e.Attributes.TryGetValue(e.Type == "image" ? "name" : "image", out var n) ? n : null;
        string? actor = e.Type == "container" ? null : e.Id;
        return new[] { actor, name }.Any(s => s is not null && (s == value || WithoutTag(s) == value));
    }

    private static string WithoutTag(string image)
    {
        int slash = image.LastIndexOf('/'), colon = image.LastIndexOf(':');
        return colon > slash ? image[..colon] : image;
    }
}
