using System.Collections.Concurrent;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;

namespace PSContainer.Engine.Services;

/// <summary>
/// The container operations a front end needs (the Docker Engine API today, the cmdlets next), over
/// <see cref="ContainerManager"/>: name/id/prefix resolution in one place, docker's list filters, wait conditions,
/// attach to output that starts before the container does, and the docker run sequence. Plain C#: no PowerShell or
/// HTTP types, so each front end only maps its requests and results.
/// </summary>
public sealed partial class ContainerService
{
    private readonly ContainerEngine engine;
    // One gate per container, held by Start until every waiting attach has its log open, so output of a container
    // that exits at once is never lost to an attach made before its start. A reconciliation that removes an exited
    // AutoRemove container (log included) may come from anywhere (a stop's lock, psc-service, another session); it
    // waits for the attach's hold on the log until the attach has every file open (LogChain, FollowRun).
    private readonly ConcurrentDictionary<string, object> gates = new(StringComparer.Ordinal);
    private readonly object startPulse = new();

    public ContainerService(ContainerEngine engine)
    {
        this.engine = engine;
        Images = new ImageService(engine);
    }

    public ImageService Images { get; }

    /// <summary>Networks over the same engine (the cmdlets' way to them; the API host makes its own, alike).</summary>
    public NetworkService Networks => networks ??= new NetworkService(engine, this);

    public VolumeService Volumes => volumes ??= new VolumeService(engine);

    private NetworkService? networks;
    private VolumeService? volumes;

    private ContainerManager Manager => engine.Containers;

    private object GateOf(string id) => gates.GetOrAdd(id, _ => new object());

    // ---- resolution ---------------------------------------------------------------------------------------

    /// <summary>The full id of a container given by full id, exact name (with or without docker's leading /) or a
    /// unique id prefix. ContainerNotFound / AmbiguousContainerId otherwise.</summary>
    public string ResolveId(string idOrName)
    {
        if (string.IsNullOrWhiteSpace(idOrName))
            throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, "No such container: (empty name)");
        return Manager.Resolve(idOrName.StartsWith('/') ? idOrName[1..] : idOrName).Id;
    }

    /// <summary>The container as it is now (reconciled under its gate).</summary>
    public Container Get(string idOrName)
    {
        string id = ResolveId(idOrName);
        return Snapshot(id) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
    }

    private Container? Snapshot(string id)
    {
        lock (GateOf(id))
        {
            try
            {
                return Manager.Get(id);
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
            {
                return null;
            }
        }
    }

    // ---- listing ------------------------------------------------------------------------------------------

    public IReadOnlyList<Container> List(ContainerQuery query)
    {
        IEnumerable<Container> all = Manager.List().OrderByDescending(c => c.Created);
        bool all_ = query.All || query.Limit is > 0;
        var result = all.Where(c => all_ || c.State is ContainerState.Running or ContainerState.Paused)
            .Where(c => Matches(c, query.Filters));
        return (query.Limit is int n and > 0 ? result.Take(n) : result).ToList();
    }

    /// <summary>Filters as dockerd applies them: values of one filter are alternatives, filters all must hold.</summary>
    public static bool Matches(Container c, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            if (values.Count == 0) continue;
            bool any = key switch
            {
                "id" => values.Any(v => c.Id.StartsWith(v, StringComparison.Ordinal)),
                // docker matches the name as a regular expression against "/name".
                "name" => values.Any(v => System.Text.RegularExpressions.Regex.IsMatch("/" + c.Name, v)),
                // Every label filter must hold (dockerd's), unlike the alternatives of the other filters: compose
                // finds a service's containers by project, service and one-off label together.
                "label" => values.All(v => v.IndexOf('=') is int eq and > 0
                    ? c.Labels.TryGetValue(v[..eq], out var value) && value == v[(eq + 1)..]
                    : c.Labels.ContainsKey(v)),
                "status" => values.Any(v => DockerStatus(c) == v),
                "ancestor" => values.Any(v => c.Image == v || c.ImageId == v || c.ImageId.StartsWith("sha256:" + v, StringComparison.Ordinal)),
                _ => throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, key, $"Invalid filter '{key}'"),
            };
            if (!any) return false;
        }
        return true;
    }

    /// <summary>docker's State.Status words: created, running, paused, exited, dead.</summary>
    public static string DockerStatus(Container c) => c.State switch
    {
        ContainerState.Running => "running",
        ContainerState.Paused => "paused",
        ContainerState.Exited => "exited",
        ContainerState.Dead => "dead",
        _ => "created",
    };

    // ---- lifecycle ----------------------------------------------------------------------------------------

    /// <summary>What the engine wanted the user to know since the last call (fallbacks it took), for the front end to show.</summary>
    public IReadOnlyList<string> TakeWarnings() => Manager.TakeWarnings();

    /// <summary>Starts the container; false when it was running already (docker's 304).</summary>
    public bool Start(string idOrName) => StartContainer(idOrName).Started;

    /// <summary>Starts the container: the container as the start left it, and false when it was running already.</summary>
    public (Container Container, bool Started) StartContainer(string idOrName)
    {
        string id = ResolveId(idOrName);
        Container started;
        lock (GateOf(id))
        {
            var before = Manager.Get(id);
            if (before.State is ContainerState.Running or ContainerState.Paused) return (before, false);
            // Attaches waiting for this start get the log open before the container can write a byte: opened after
            // the start, a fast writer could already have rotated the file away. The monitor appends (O_APPEND|O_CREAT)
            // to the same file, so an empty one made here is the one it writes; what this run writes starts at its end.
            OpenPendingAttaches(id, Manager.LogPath(id));
            started = Manager.Start(id);
        }
        lock (startPulse) Monitor.PulseAll(startPulse);
        return (started, true);
    }

    /// <summary>While disposed of later, this session records the container's exit itself (a front end that waits for
    /// it), so the monitor need not start psc-service to do it.</summary>
    public IDisposable WatchExit(string idOrName) => Manager.WatchExit(ResolveId(idOrName));

    /// <summary>The container as it is now, or null when there is none by that id or name (removed meanwhile).</summary>
    public Container? TryGet(string idOrName)
    {
        try
        {
            return Get(idOrName);
        }
        catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
        {
            return null;
        }
    }

    /// <summary>docker stop: false when the container was not running (docker's 304). <paramref name="stopSignal"/>
    /// (docker stop -s) replaces the container's StopSignal for this stop; an unknown one is InvalidSignal.</summary>
    public bool Stop(string idOrName, TimeSpan? timeout, string? stopSignal = null) => StopContainer(idOrName, timeout, null, stopSignal).WasRunning;

    /// <summary>
    /// Stop-Container's stop: with no signal docker stop (the stop signal, SIGKILL after the grace period); with one,
    /// just that signal (a stopped container is left as it is, unlike <see cref="Kill"/>). The container after it, and
    /// whether it was running.
    /// </summary>
    public (Container Container, bool WasRunning) StopContainer(string idOrName, TimeSpan? timeout, string? signal, string? stopSignal = null)
    {
        if (stopSignal is not null) stopSignal = SignalName.Normalize(stopSignal);
        // A container waiting out its restart backoff is stopped too: the stop ends the policy's restart (docker's).
        return Manager.StopIfRunning(ResolveId(idOrName), idOrName, timeout, signal, stopSignal);
    }

    /// <summary>docker restart: stops a running container (as <see cref="Stop(string, TimeSpan?, string?)"/>), then starts it.</summary>
    public Container Restart(string idOrName, TimeSpan? timeout, string? stopSignal = null)
    {
        if (stopSignal is not null) stopSignal = SignalName.Normalize(stopSignal);
        var c = Get(idOrName);
        if (c.State is ContainerState.Running or ContainerState.Paused or ContainerState.Restarting) Manager.Stop(c.Id, timeout, stopSignal: stopSignal);
        Start(c.Id);
        return Snapshot(c.Id) ?? c;
    }

    /// <summary>docker kill: a signal to a running container (ContainerNotRunning otherwise).</summary>
    public void Kill(string idOrName, string? signal)
    {
        var c = Get(idOrName);
        if (c.State == ContainerState.Restarting)
        {
            // Nothing runs to signal, but docker kill still ends the pending restart.
            Manager.Stop(c.Id, TimeSpan.Zero);
            return;
        }
        if (c.State is not (ContainerState.Running or ContainerState.Paused))
            throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, c.Name, $"Container {c.Id} is not running");
        string s = string.IsNullOrEmpty(signal) ? "SIGKILL" : signal;
        if (int.TryParse(s, out _) is false && !s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase)) s = "SIG" + s;
        Manager.Stop(c.Id, null, s.ToUpperInvariant());
    }

    // ---- run ----------------------------------------------------------------------------------------------

    /// <summary>docker run: pull if missing, create, attach, start, follow the output, wait, auto-remove. The
    /// sequence both front ends use (Start-Container -Image and the API's run).</summary>
    public RunResult Run(RunRequest request, CancellationToken cancel)
    {
        var options = request.Options;
        if (request.Pull is not null) Images.EnsureImage(options.Image, request.Pull, request.Platform, request.PullProgress, cancel);
        var created = Create(options);
        request.Created?.Invoke(created);
        bool follow = !request.Detach && request.Terminal is null && request.Output is not null;
        AttachSession? attach = follow ? Attach(created.Id, stdout: true, stderr: true) : null;
        // While the run is followed this session records the exit itself: the monitor need not start psc-service.
        IDisposable? watching = request.Detach ? null : Manager.WatchExit(created.Id);
        // Attached before the start, as docker run attaches: input that comes first is held until the run begins.
        StdinAttach? stdin = follow && request.Stdin is not null ? AttachStdin(created.Id) : null;
        using var relayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var relay = stdin?.RelayAsync(request.Stdin!, [], relayCancel.Token);
        try
        {
            try
            {
                Start(created.Id);
            }
            catch (EngineException) when (options.AutoRemove)
            {
                TryRemove(created.Id);
                throw;
            }
            // A fast --rm container may be gone already: then the record as created stands for it.
            var started = Snapshot(created.Id) ?? created;
            request.Started?.Invoke(started);
            if (request.Detach) return new RunResult(started, null, false);
            if (request.Terminal is not null) return new RunResult(started, request.Terminal(created.Id, cancel), false);
            if (attach is not null)
                foreach (var record in attach.Read(cancel)) request.Output!(record);
            // The one wait (Wait-Container's and the API's): the exit of this run, kept after an auto-removal.
            var exit = Wait(created.Id, WaitCondition.NotRunning, cancel);
            bool removed = options.AutoRemove && !Exists(created.Id);
            return new RunResult(created, exit.StatusCode, removed);
        }
        finally
        {
            // A run that ended before reading all its input: the relay sees the end and stops.
            // A run that ended before reading all its input: the relay is woken from a blocked write and stops, and
            // only then is its connection closed. Its faults are observed, never rethrown over the run's own result.
            relayCancel.Cancel();
            try { relay?.Wait(TimeSpan.FromSeconds(5)); }
            catch (AggregateException) { }
            stdin?.Dispose();
            attach?.Dispose();
            watching?.Dispose();
        }
    }

    private bool Exists(string id)
    {
        try
        {
            Manager.Resolve(id);
            return true;
        }
        catch (EngineException)
        {
            return false;
        }
    }

    private void TryRemove(string id)
    {
        try { Remove(id, force: true, removeVolumes: true); }
        catch (EngineException) { }
    }
}
