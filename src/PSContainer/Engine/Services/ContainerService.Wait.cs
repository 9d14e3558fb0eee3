using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

/// <summary>
/// The one wait of the engine: Wait-Container, Start-Container -Wait, the docker run sequence and the API's
/// POST /containers/{id}/wait all come here, so a condition means the same whichever front end asks.
/// </summary>
public sealed partial class ContainerService
{
    /// <summary>
    /// docker wait. NotRunning returns at once for a container that is not running; NextExit waits for the end of
    /// the next run (of a created container: the run a later start begins); Removed waits until the container is
    /// gone as well (an AutoRemove container's exit is reported after its removal); Healthy until its healthcheck
    /// passes (ContainerUnhealthy, ContainerNotRunning or NoHealthcheck when it never will).
    /// </summary>
    public WaitResult Wait(string idOrName, WaitCondition condition, CancellationToken cancel) => BeginWait(idOrName, condition)(cancel);

    /// <summary>
    /// <see cref="Wait"/> in two steps: the container's state is taken now, the waiting done by the function returned.
    /// A front end that tells its client the wait is in place (dockerd's early headers) takes the state first, so a
    /// start the client makes next is one the wait sees, however late the waiting itself begins.
    /// </summary>
    public Func<CancellationToken, WaitResult> BeginWait(string idOrName, WaitCondition condition)
    {
        string id;
        try
        {
            id = ResolveId(idOrName);
        }
        catch (EngineException e) when (e.ErrorId == "ContainerNotFound" && condition != WaitCondition.Healthy)
        {
            // Auto-removed already: the engine still knows how it ended (by full id).
            return cancel => RemovedResult(idOrName, idOrName, null, cancel);
        }
        var first = Snapshot(id);
        if (condition == WaitCondition.Healthy)
        {
            if (first is null) throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            if (!Manager.HasHealthcheck(id))
                throw new EngineException("NoHealthcheck", ErrorKind.InvalidOperation, first.Name,
                    $"Container {first.Name} has no healthcheck (none in its image, none given with -HealthCommand, or -NoHealthcheck): it never becomes healthy.");
            return cancel => WaitHealthy(id, idOrName, cancel);
        }
        if (first is null) return cancel => RemovedResult(id, idOrName, null, cancel);
        if (condition == WaitCondition.NotRunning && first.State is not (ContainerState.Running or ContainerState.Paused))
            return _ => ResultOf(first);
        return cancel => WaitFrom(id, idOrName, first, condition, cancel);
    }

    private WaitResult WaitFrom(string id, string idOrName, Container first, WaitCondition condition, CancellationToken cancel)
    {
        DateTime? startedBefore = first.StartedAt;
        bool sawRunning = false;
        var last = first;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var now = Snapshot(id);
            if (now is null) return RemovedResult(id, idOrName, last, cancel);
            last = now;
            if (now.State is ContainerState.Running or ContainerState.Paused)
            {
                sawRunning = true;
                // The engine's wait blocks on the monitor; it reconciles (and auto-removes) when the container ends.
                var exit = WaitForExit(id, cancel);
                if (condition != WaitCondition.Removed || exit is null) return exit ?? RemovedResult(id, idOrName, last, cancel);
                continue;
            }
            bool ranSince = sawRunning || now.StartedAt != startedBefore || (now.State == ContainerState.Created && now.Error is not null);
            if (condition == WaitCondition.NextExit && ranSince) return ResultOf(now);
            if (condition == WaitCondition.NotRunning) return ResultOf(now);
            // Removed (or a next exit still to come): wait for a start or a removal, woken by starts of this service.
            lock (startPulse) Monitor.Wait(startPulse, condition == WaitCondition.Removed && now.State != ContainerState.Created ? 100 : 250);
        }
    }

    /// <summary>Until the healthcheck of a running container says healthy; its status file is this run's (deleted at each start).</summary>
    private WaitResult WaitHealthy(string id, string shown, CancellationToken cancel)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var now = Snapshot(id)
                      ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, shown, $"Container {shown} was removed while waiting for it to become healthy.");
            switch (now.State)
            {
                case ContainerState.Created:
                    throw new EngineException("ContainerNotStarted", ErrorKind.InvalidOperation, now.Name, $"Container {now.Name} has not been started.");
                case ContainerState.Exited or ContainerState.Dead:
                    throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, now.Name,
                        $"Container {now.Name} exited (code {now.ExitCode ?? -1}) before it became healthy.");
            }
            switch (now.Health)
            {
                case { Status: "healthy" }:
                    return ResultOf(now) with { Container = now };
                case { Status: "unhealthy" } h:
                    string lastOutput = h.Log.Length > 0 ? h.Log[^1].Output.Trim() : "";
                    throw new EngineException("ContainerUnhealthy", ErrorKind.ResourceUnavailable, now.Name,
                        $"Container {now.Name} is unhealthy after {h.FailingStreak} failed checks{(lastOutput.Length > 0 ? ": " + lastOutput : ".")}");
            }
            cancel.WaitHandle.WaitOne(50);
        }
    }

    private WaitResult? WaitForExit(string id, CancellationToken cancel)
    {
        try
        {
            return ResultOf(Manager.Wait(id, cancel));
        }
        catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
        {
            return null;
        }
    }

    /// <param name="last">The container as last seen before it went, for one removed by another hand (no exit kept for it).</param>
    private WaitResult RemovedResult(string id, string shown, Container? last, CancellationToken cancel)
    {
        gates.TryRemove(id, out _); // gone: its gate must not stay for the life of a server

        // The engine keeps how auto-removed containers ended, for a wait that comes after the removal.
        try
        {
            return ResultOf(Manager.Wait(id, cancel));
        }
        catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
        {
            // Removed while it ran (docker rm -f): killed, as dockerd reports it (128 + SIGKILL), never a success
            // the record of its last run (or none) would make of it.
            if (last is { State: ContainerState.Running or ContainerState.Paused or ContainerState.Restarting })
                return ResultOf(last) with { StatusCode = 137, NotStarted = false };
            if (last is not null) return ResultOf(last) with { NotStarted = false };
            throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, shown, $"No such container: {shown}");
        }
    }

    private static WaitResult ResultOf(Container c) => new(c.Id, c.ExitCode ?? 0, c.State == ContainerState.Created ? c.Error : null)
    {
        Name = c.Name,
        OOMKilled = c.OOMKilled,
        FinishedAt = c.FinishedAt,
        NotStarted = c.State == ContainerState.Created && c.Error is null,
    };

    private static WaitResult ResultOf(ContainerExit exit) => new(exit.Id, exit.ExitCode, null)
    {
        Name = exit.Name,
        OOMKilled = exit.OOMKilled,
        FinishedAt = exit.FinishedAt,
    };
}
