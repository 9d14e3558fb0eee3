using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// docker start: the run directory, root file system, volumes, network, runtime spec and monitor, in an order a kill
// at any point can be undone from (see docs/architecture.md, crash consistency).
public sealed partial class ContainerManager
{
    // ---- start --------------------------------------------------------------------------------------------------

    /// <summary>
    /// The container's lock, held while it is started, stopped, removed or waited on. Its directory is made only by
    /// Create: a container removed meanwhile is reported as gone, and nothing of it is made again.
    /// </summary>
    private FileLock LockContainer(string id)
    {
        try
        {
            if (Directory.Exists(ContainerDir(id))) return FileLock.Acquire(Path.Combine(ContainerDir(id), "lock"), exclusive: true);
        }
        catch (NativeException e) when (e.Errno == Errors.ENOENT)
        {
        }
        throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, id, $"No such container: {id} (it was removed).");
    }

    public Container Start(string idOrName)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName)) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            if (record.State is ContainerState.Running or ContainerState.Paused) return ToContainer(record);
            PhaseClock.Mark("start-locked");
            ResetRestartForStart(record);
            StartLocked(record);
        }
        return ToContainer(record);
    }

    private void StartLocked(ContainerRecord record)
    {
        var o = record.Options;
        var runtime = RuntimeFor(o.Runtime);
        var image = images.Find(record.ImageId)
                    ?? throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, record.Image, $"The image of container {record.Name} ({record.ImageId}) is no longer in the store.");
        string id = record.Id, dir = ContainerDir(id), runDir = RunDir(id), rootfs = RootfsDir(id);
        Directory.CreateDirectory(runDir);
        // The run root may be shared by several state roots: this names the one the run belongs to (see Orphans).
        File.WriteAllText(Path.Combine(runDir, OwnerFileName), paths.Root);
        UndoInterruptedStart(record);
        UndoInterruptedCopy(id);
        // Recorded before the first host object is made, so a kill at any later point can be undone.
        MarkStartInProgress(id);
        RecordCgroup(record);
        Rootfs.MakeDirectories(id, rootfs, Path.Combine(dir, "upper"), Path.Combine(dir, "work"));
        File.Delete(ExitFile(id));
        File.Delete(Path.Combine(runDir, "pid"));

        try
        {
            // docker -v makes a missing host directory when the container starts, not when it is created.
            foreach (var bind in RuntimeSpecBuilder.ParseVolumes(o.Volumes).Where(m => m.Type == "bind")) BindSource.Prepare(bind.Source);
            var maps = MapsOf(record);

            // Lower dirs top first: the image's layers, newest last in the image, first for overlayfs.
            var lowers = images.LayersOf(record.ImageId).OrderByDescending(l => l.Position).Select(l => images.Layers.DiffOf(l.ChainId)).ToList();
            foreach (string lower in lowers)
                if (!Directory.Exists(lower))
                    throw new EngineException("LayerMissing", ErrorKind.ObjectNotFound, lower, $"Layer directory {lower} of image {record.Image} is missing.");
            if (!Mounts.IsMountPoint(rootfs))
                Rootfs.Mount(id, record.Name, maps, lowers, Path.Combine(dir, "upper"), Path.Combine(dir, "work"), rootfs);
            CrashPoint.At("after-mount");
            VolumeObjects.PrepareForStart(record, rootfs, maps);

            string hostname = o.Hostname ?? (o.Network == "host" ? System.Net.Dns.GetHostName() : id[..12]);
            string? netns = PrepareNetwork(record, hostname);
            ChownRunFiles(id, maps);
            CrashPoint.At("after-network");

            var user = RuntimeSpecBuilder.ResolveUser(o.User ?? (image.Config.User.Length > 0 ? image.Config.User : null), rootfs, o.GroupAdd);
            string cwd = o.WorkingDirectory ?? (image.Config.WorkingDir.Length > 0 ? image.Config.WorkingDir : "/");
            if (!cwd.StartsWith('/'))
                throw new EngineException("InvalidWorkingDirectory", ErrorKind.InvalidArgument, cwd, $"The working directory '{cwd}' is not an absolute path.");
            string[] env = RuntimeSpecBuilder.ResolveEnvironment(image.Config.Env, o.Environment, hostname, user.Home);
            var spec = RuntimeSpecBuilder.Build(record, env, user, cwd, hostname,
                new SpecContext(rootfs, netns, Path.Combine(dir, "hostname"), Path.Combine(dir, "hosts"), Path.Combine(dir, "resolv.conf"), CgroupPath(record), Volumes.VolumesDir));
            MountShmOnHost(record);
            IsolationSpec.Apply(spec, o, target => JoinRunning(target, id), ShmPath(id), userNamespace: maps is not null);
            Security.ContainerSecurity.Of(o).Apply(spec);
            ApplyUserNamespace(maps, spec);
            // Written beside itself, not in the store's tmp/, which garbage collection empties without our lock.
            // Not flushed to disk: every start writes it again, and nothing reads it while no run is alive.
            AtomicFile.Write(Path.Combine(dir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, new JsonSerializerOptions { WriteIndented = true }), dir, durable: false);
            PrepareHealthcheck(record, image);

            PhaseClock.Mark("spec-written");
            // A runtime state left by an earlier run (crash) would make create fail.
            if (Directory.Exists(Path.Combine(runtime.Root, id))) runtime.Delete(id, force: true);

            var (pid, monitorPid, monitorStarted) = LaunchMonitor(record, runtime);
            UnpinJoinedNamespaces(id);
            long monitorStart = ProcessInfo.StartTime(monitorPid);
            CrashPoint.At("after-monitor");
            if (!monitorStarted)
            {
                var started = runtime.Start(id);
                if (started.ExitCode != 0)
                    throw new EngineException("ContainerStartFailed", ErrorKind.InvalidOperation, record.Name,
                        $"{runtime.Name} start {record.Name} failed: {started.Stderr}");
            }
            CrashPoint.At("after-start");

            // The container's own mount namespace holds its root now; dropping the host's copy means no overlay
            // mount of ours stays on the host, even if this machine crashes.
            Rootfs.Unmount(id, rootfs);
            record.State = ContainerState.Running;
            record.Pid = pid;
            record.MonitorPid = monitorPid;
            record.MonitorStart = monitorStart;
            record.StartedAt = DateTime.UtcNow;
            record.FinishedAt = null;
            record.ExitCode = null;
            record.OOMKilled = false;
            record.Error = null;
            store.Update(record);
            CrashPoint.At("after-commit");
            ClearStartMarker(id);
            RecordNetworkEvents(record, "connect", record.StartedAt);
            RecordEvent(record, "start", record.StartedAt);
        }
        catch (EngineException e)
        {
            CleanUpRun(record, runtime);
            record.Error = e.Message;
            if (e.Data["exitCode"] is int code) record.ExitCode = code;
            store.Update(record);
            ClearStartMarker(id);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else (a broken pipe, an unreadable monitor reply): the same clean-up, reported as a start failure.
            CleanUpRun(record, runtime);
            record.Error = e.Message;
            store.Update(record);
            ClearStartMarker(id);
            throw new EngineException("ContainerStartFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start container {record.Name}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Starts the container's monitor, which runs `runtime create` and `runtime start` (--start: no runtime process
    /// of the session's own, no second round trip) and reports through a pipe whether the container process runs
    /// (with its pid) or why not. psc-runtime runs from the monitor's sealed copy (--sealed-runtime), which spares it
    /// re-executing itself from one. Returns (container pid, monitor pid, whether the monitor started it, as its
    /// report says: the session runs `runtime start` itself when it did not).
    /// </summary>
    private (int Pid, int MonitorPid, bool Started) LaunchMonitor(ContainerRecord record, RuntimeClient runtime)
    {
        string id = record.Id;
        Directory.CreateDirectory(runtime.Root);
        var (readEnd, writeEnd) = ProcessSpawner.Pipe();
        int launcher;
        try
        {
            var args = new List<string>
            {
                MonitorBinary(), "--runtime", runtime.Binary, "--runtime-root", runtime.Root, "--id", id, "--bundle", ContainerDir(id),
                "--log-path", LogPath(id), "--exit-file", ExitFile(id), "--pid-file", Path.Combine(RunDir(id), "pid"),
                "--cgroup-path", CgroupPath(record), "--sync-fd", "3", "--start",
            };
            if (runtime.Bundled) args.Add("--sealed-runtime");
            var (logMaxSize, logMaxFiles) = record.Options.LogRotation();
            args.AddRange(ExitCommandArguments(record));
            args.AddRange(["--log-max-size", logMaxSize.ToString(CultureInfo.InvariantCulture), "--log-max-files", logMaxFiles.ToString(CultureInfo.InvariantCulture)]);
            args.AddRange(HealthMonitorArgs(record));
            args.AddRange(MonitorAttachArgs(record));
            var env = new Dictionary<string, string> { ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
            launcher = ProcessSpawner.Spawn(args[0], args, env, new Dictionary<int, int> { [writeEnd] = 3 });
        }
        finally
        {
            ProcessSpawner.Close(writeEnd);
        }
        ProcessSpawner.Wait(launcher);

        string? line;
        using (var pipe = new FileStream(new SafeFileHandle(readEnd, ownsHandle: true), FileAccess.Read, 1))
        using (var reader = new StreamReader(pipe))
        {
            var read = Task.Run(reader.ReadLine);
            if (!read.Wait(TimeSpan.FromSeconds(60)))
            {
                // Its pid was never reported: find it by the name it gives itself, so it cannot go on to make a
                // container nobody records.
                KillMonitorOf(id);
                throw new EngineException("MonitorTimeout", ErrorKind.OperationStopped, record.Name, "The container monitor did not report within 60 s.");
            }
            line = read.Result;
        }
        if (string.IsNullOrWhiteSpace(line))
            throw new EngineException("MonitorFailed", ErrorKind.InvalidOperation, record.Name, "The container monitor exited without reporting whether the container was created.");
        JsonNode? sync;
        try
        {
            sync = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            throw new EngineException("MonitorFailed", ErrorKind.InvalidOperation, record.Name, $"The container monitor reported something unreadable: {line}");
        }
        if (sync?["ok"]?.GetValue<bool>() == true)
            return (sync["pid"]!.GetValue<int>(), sync["monitorPid"]!.GetValue<int>(), sync["started"]?.GetValue<bool>() == true);

        int exitCode = sync?["exitCode"]?.GetValue<int>() ?? 1;
        string message = sync?["message"]?.GetValue<string>() ?? "unknown error";
        var error = exitCode switch
        {
            MonitorStartFailure => new EngineException("ContainerStartFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start container {record.Name}: {message}"),
            127 => new EngineException("CommandNotFound", ErrorKind.ObjectNotFound, record.Name, $"Cannot start container {record.Name}: {message}"),
            126 => new EngineException("CommandNotExecutable", ErrorKind.PermissionDenied, record.Name, $"Cannot start container {record.Name}: {message}"),
            _ => new EngineException("ContainerCreateFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start container {record.Name}: {message}"),
        };
        error.Data["exitCode"] = exitCode is 126 or 127 ? exitCode : 128;
        throw error;
    }

    private const int MonitorStartFailure = 124; // monitor.h MON_START_FAILURE: create worked, start did not

    /// <summary>
    /// Kills the monitor process of a container, found by the name it gives itself (psc-&lt;first 12 of the id&gt;),
    /// or, in the moment before it has renamed itself, by the command line it was started with (--id &lt;id&gt;).
    /// </summary>
    private static void KillMonitorOf(string id)
    {
        foreach (var (pid, argv) in ProcessTable.CommandLines())
            if (IsMonitorOf(argv, id)) ProcessSignal.TrySend(pid, ProcessSignal.SIGKILL);
    }

    /// <summary>Whether a command line is the monitor of a container: renamed (psc-&lt;id12&gt;) or as started.</summary>
    public static bool IsMonitorOf(string[] argv, string id)
    {
        if (argv.Length == 0) return false;
        if (argv[0] == "psc-" + id[..12]) return true;
        if (Path.GetFileName(argv[0]) != "psc-monitor") return false;
        int at = Array.IndexOf(argv, "--id");
        return at >= 0 && at + 1 < argv.Length && argv[at + 1] == id;
    }

    /// <summary>Undoes what a run leaves on the host: runtime state and cgroup, the network namespace, root mounts.</summary>
    private void CleanUpRun(ContainerRecord record, RuntimeClient? runtime)
    {
        string id = record.Id;
        try
        {
            runtime ??= RuntimeFor(record.Options.Runtime);
            if (Directory.Exists(Path.Combine(runtime.Root, id))) runtime.Delete(id, force: true);
        }
        catch (EngineException)
        {
            // The runtime is gone (uninstalled); the cgroup is removed below all the same.
        }
        try
        {
            RemoveRecordedObjects(record);
            CrashPoint.At("cleanup-after-cgroup");
        }
        finally
        {
            // A provider that failed (its entry stays for Repair) does not leave the ports forwarded and the names
            // resolving of a container that no longer runs.
            ScheduleNetworkTeardown(record);
        }
        if (Directory.Exists(RunDir(id))) File.Delete(Path.Combine(RunDir(id), "pid"));
    }
}
