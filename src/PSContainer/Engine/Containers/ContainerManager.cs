using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using PSContainer.Engine.Cgroups;
using PSContainer.Engine.Containers.Providers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Networks;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The container lifecycle. There is no daemon: each call reads the shared state, acts, and records the result.
/// A started container's parent is its monitor, not this process, so it outlives the session; its exit is read
/// back from the file the monitor writes.
/// </summary>
public sealed partial class ContainerManager
{
    private readonly StatePaths paths;
    private readonly ImageStore images;
    private readonly ContainerStore store;

    public ContainerManager(StatePaths paths, ImageStore images)
    {
        this.paths = paths;
        this.images = images;
        store = new ContainerStore(images.Db);
        Networks = new NetworkManager(paths, images.Db);
        Cgroups = CgroupDriver.Detect();
        images.ImagesInUse = store.ImageIdsInUse;
    }

    public CgroupDriver Cgroups { get; }

    /// <summary>Container networks (bridges, addresses, published ports, DNS).</summary>
    public NetworkManager Networks { get; }

    /// <summary>Where psc-runtime and psc-monitor are: native/ beside the module's assemblies.</summary>
    public static string NativeDirectory =>
        Environment.GetEnvironmentVariable("PSCONTAINER_NATIVE_DIR") is { Length: > 0 } d
            ? d
            : Path.Combine(Path.GetDirectoryName(typeof(ContainerManager).Assembly.Location)!, "native");

    /// <summary>The cgroup every container's cgroup is made under ($env:PSCONTAINER_CGROUP_PARENT, default pscontainer).</summary>
    public static string CgroupParent =>
        Environment.GetEnvironmentVariable("PSCONTAINER_CGROUP_PARENT") is { Length: > 0 } p ? p.Trim('/') : "pscontainer";

    private string ContainerDir(string id) => Path.Combine(paths.Root, "containers", id);
    private string RunDir(string id) => Path.Combine(paths.RunRoot, "containers", id);
    private string NetnsPath(string id) => Path.Combine(paths.RunRoot, "netns", id);
    private string RootfsDir(string id) => Path.Combine(ContainerDir(id), "rootfs");
    private string ExitFile(string id) => Path.Combine(RunDir(id), "exit.json");
    public string LogPath(string id) => Path.Combine(ContainerDir(id), "container.log");
    public static string CgroupPath(ContainerRecord r) => $"/{r.Options.CgroupParent ?? CgroupParent}/{r.Id}";

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    private static partial Regex ValidName();

    // ---- runtime selection -------------------------------------------------------------------------------------

    public RuntimeClient RuntimeFor(string runtime)
    {
        string binary;
        string name;
        if (runtime is "" or "psc")
        {
            name = "psc";
            binary = Path.Combine(NativeDirectory, "psc-runtime");
        }
        else if (runtime.Contains('/'))
        {
            name = Path.GetFileName(runtime);
            binary = runtime;
        }
        else
        {
            name = runtime;
            binary = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
                .Split(':').Select(d => Path.Combine(d, runtime)).FirstOrDefault(File.Exists) ?? "";
        }
        if (binary.Length == 0 || !File.Exists(binary))
            throw new EngineException("RuntimeNotInstalled", ErrorKind.NotInstalled, runtime,
                $"OCI runtime '{runtime}' was not found{(binary.Length > 0 ? " at " + binary : " on PATH")}.");
        return new RuntimeClient(name, binary, Path.Combine(paths.RunRoot, "runtime", name));
    }

    private static string MonitorBinary()
    {
        string path = Path.Combine(NativeDirectory, "psc-monitor");
        if (!File.Exists(path))
            throw new EngineException("MonitorNotInstalled", ErrorKind.NotInstalled, path, $"The container monitor is missing: {path}. Rebuild the module.");
        return path;
    }

    // ---- create -------------------------------------------------------------------------------------------------

    public Container Create(ContainerOptions options)
    {
        // A name that is no reference (uppercase, bad characters) is that, not a missing image.
        ImageStore.ValidateNameOrId(options.Image);
        var image = images.Find(options.Image)
                    ?? throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, options.Image, $"Unable to find image '{options.Image}' locally.");
        string name = options.Name ?? NameGenerator.Next();
        if (!ValidName().IsMatch(name))
            throw new EngineException("InvalidContainerName", ErrorKind.InvalidArgument, name, $"Invalid container name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.");
        Networks.Validate(options);
        ValidateMoreNetworks(options);
        if (options.Network.StartsWith("container:", StringComparison.Ordinal)) Resolve(options.Network["container:".Length..]);
        ExpandVolumesFrom(options);
        VolumeProvider.PrepareOptions(options, image);
        RuntimeFor(options.Runtime);
        if (options.Memory is long m && m < 6 * 1024 * 1024)
            throw new EngineException("MemoryTooLow", ErrorKind.InvalidArgument, m, "Minimum memory limit allowed is 6MB.");
        if (options.MemorySwap is long swap && swap != -1)
        {
            if (options.Memory is not long memory)
                throw new EngineException("MemorySwapWithoutMemory", ErrorKind.InvalidArgument, swap, "-MemorySwap needs -Memory (it is memory plus swap).");
            if (swap < memory)
                throw new EngineException("MemorySwapTooLow", ErrorKind.InvalidArgument, swap, "-MemorySwap is memory plus swap: it cannot be less than -Memory.");
        }
        if (options.Cpus is double c && (c <= 0 || c > Environment.ProcessorCount))
            throw new EngineException("InvalidCpus", ErrorKind.InvalidArgument, c, $"-Cpus must be more than 0 and at most {Environment.ProcessorCount} (the CPUs available).");
        ContainerInputRules.ValidateEnvironment(options.Environment);
        ContainerInputRules.ValidateHostname(options.Hostname);
        IsolationSpec.Validate(options);
        ContainerOptions.ValidateStop(options);
        ContainerOptions.ValidateHealth(ContainerOptions.EffectiveHealthcheck(options.Healthcheck, image.Config.Healthcheck), $"container {name}");
        ContainerOptions.ValidateRestart(options);
        EnsureRestartPossible(options);
        ContainerOptions.ValidateTerminal(options);
        options.LogRotation();
        foreach (string? mode in new[] { options.PidMode, options.IpcMode })
            if (mode?.StartsWith("container:", StringComparison.Ordinal) == true) Resolve(mode["container:".Length..]);
        ResolveUserNamespace(options);
        ContainerOptions.ValidateGroupAdd(options.GroupAdd);
        Security.ContainerSecurity.Validate(options);

        string[] command = RuntimeSpecBuilder.ResolveCommand(image.Config.Entrypoint, image.Config.Cmd, options.Entrypoint, options.Command);
        if (command.Length == 0)
            throw new EngineException("NoCommand", ErrorKind.InvalidArgument, options.Image, "No command specified: the image has no Cmd or Entrypoint; give -Command.");

        options.CgroupParent ??= CgroupParent;
        var record = new ContainerRecord
        {
            Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            Name = name,
            Image = options.Image,
            ImageId = image.Id,
            Created = DateTime.UtcNow,
            Options = options,
            Command = command,
            State = ContainerState.Created,
        };
        // Before anything is made: a first Auto container delegates the pscontainer user's ids, which can fail.
        var rangeAllocation = IdRangeAllocation(record);
        Directory.CreateDirectory(ContainerDir(record.Id));
        // Held until the container is whole, and recorded before the record is inserted: a kill at any point of the
        // creation leaves a marker whose lock is free, which the next command that finds it undoes.
        using var creating = LockContainer(record.Id);
        MarkCreateInProgress(record.Id);
        CrashPoint.At("create-after-dir");
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                store.Insert(record, rangeAllocation);
                break;
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNameInUse" && options.Name is null && attempt < 20)
            {
                // A generated name another container has: draw again, as docker does (with a digit after a few tries).
                record.Name = NameGenerator.Next() + (attempt >= 3 ? Random.Shared.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
            }
            catch
            {
                LayerStore.DeleteTree(ContainerDir(record.Id));
                throw;
            }
        }
        try
        {
            CrashPoint.At("create-after-insert");
            VolumeObjects.Attach(record);
            Networks.Attach(record.Id, options, image.Config.ExposedPorts);
            AttachMoreNetworks(record.Id, options);
            ClearCreateMarker(record.Id);
            RecordEvent(record, "create");
        }
        catch
        {
            Networks.Forget(record.Id);
            store.Delete(record.Id);
            VolumeObjects.RemoveAnonymous(options);
            LayerStore.DeleteTree(ContainerDir(record.Id));
            throw;
        }
        return ToContainer(record);
    }

    // ---- queries ------------------------------------------------------------------------------------------------

    public IReadOnlyList<Container> List() =>
        store.All().Select(ReconcileIfIdle).OfType<ContainerRecord>().Select(ToContainer).ToList();

    /// <summary>
    /// Reconciles a record for a caller that does not hold the container's lock (listing, logs): only if nobody
    /// else holds it, and from a fresh read under it. A session that is starting, stopping or removing the container
    /// holds the lock, and what it is doing must not be undone from a stale record.
    /// </summary>
    private ContainerRecord? ReconcileIfIdle(ContainerRecord record)
    {
        if (UndoInterruptedStartIfIdle(record) is not { } settled) return null;
        record = settled;
        if (record.State is not (ContainerState.Running or ContainerState.Paused)) return record;
        using var held = FileLock.TryAcquire(Path.Combine(ContainerDir(record.Id), "lock"), exclusive: true);
        if (held is null) return store.ById(record.Id) ?? (Directory.Exists(ContainerDir(record.Id)) ? record : null);
        return store.ById(record.Id) is { } fresh ? Reconcile(fresh) : null;
    }

    /// <summary>The record as it is now, under the caller's lock: never a stale copy of a removed container.</summary>
    private ContainerRecord Current(string id, string shown) =>
        store.ById(id) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, shown, $"No such container: {shown}");

    /// <summary>By full id, unique id prefix, or exact name (docker's resolution order).</summary>
    public ContainerRecord Resolve(string idOrName)
    {
        // A full id (what the pipeline passes) is one indexed row, not every row with its options parsed.
        if (idOrName.Length == 64 && store.ById(idOrName) is { } byId) return byId;
        var all = store.All();
        var exact = all.FirstOrDefault(r => r.Id == idOrName) ?? all.FirstOrDefault(r => r.Name == idOrName.TrimStart('/'));
        if (exact is not null) return exact;
        var byPrefix = idOrName.Length >= 1 ? all.Where(r => r.Id.StartsWith(idOrName, StringComparison.Ordinal)).ToList() : [];
        if (byPrefix.Count == 1) return byPrefix[0];
        if (byPrefix.Count > 1)
            throw new EngineException("AmbiguousContainerId", ErrorKind.InvalidArgument, idOrName, $"Multiple containers match '{idOrName}'; give more of the id.");
        throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
    }

    public Container Get(string idOrName) =>
        ReconcileIfIdle(Resolve(idOrName)) is { } r ? ToContainer(r)
            : throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName} (it was removed when it exited).");

    private Container ToContainer(ContainerRecord r)
    {
        var o = r.Options;
        var endpoints = r.Id.Length > 0 ? Networks.EndpointsOf(r.Id) : [];
        return new Container
        {
            Id = r.Id,
            Name = r.Name,
            Image = r.Image,
            ImageId = r.ImageId,
            Command = r.Command,
            Created = r.Created,
            State = r.State,
            ExitCode = r.ExitCode,
            OOMKilled = r.OOMKilled,
            StartedAt = r.StartedAt,
            FinishedAt = r.FinishedAt,
            Pid = r.State == ContainerState.Running ? r.Pid : 0,
            Error = r.Error,
            Labels = new Dictionary<string, string>(o.Labels),
            Mounts = PSContainer.Engine.Volumes.VolumeSpec.All(o).ToArray(),
            Limits = RuntimeSpecBuilder.EffectiveLimits(o),
            Hostname = o.Hostname ?? (o.Network == "host" ? System.Net.Dns.GetHostName() : r.Id[..12]),
            Environment = o.Environment.Select(kv => kv.Key + "=" + kv.Value).ToArray(),
            WorkingDirectory = o.WorkingDirectory ?? "",
            User = o.User ?? "",
            ReadOnly = o.ReadOnly,
            NetworkMode = o.Network,
            Networks = endpoints.Count > 0 ? endpoints.Select(e => e.NetworkName).ToArray() : NetworkManager.IsSpecialMode(o.Network) ? [o.Network] : [],
            IPAddress = endpoints.Count > 0 ? endpoints[0].Address : null,
            Ports = Networks.PortsOf(r.Id).Select(p => p.ToString()).ToArray(),
            Runtime = o.Runtime,
            AutoRemove = o.AutoRemove,
            Tty = o.Tty,
            Interactive = o.Interactive,
            StdinOnce = o.StdinOnce,
            SecurityOptions = Security.ContainerSecurity.Of(o).ToOptions().ToArray(),
            LogPath = LogPath(r.Id),
            UserNamespace = r.Id.Length > 0 ? UserNamespaceText(r) : "",
            Health = ReadHealth(r),
            RestartPolicy = o.RestartPolicy ?? "no",
            RestartCount = o.RestartPolicy is null || r.Id.Length == 0 ? 0 : Restarts.Get(r.Id).RestartCount,
        };
    }

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

            var (pid, monitorPid) = LaunchMonitor(record, runtime);
            UnpinJoinedNamespaces(id);
            long monitorStart = ProcessInfo.StartTime(monitorPid);
            CrashPoint.At("after-monitor");
            var started = runtime.Start(id);
            if (started.ExitCode != 0)
                throw new EngineException("ContainerStartFailed", ErrorKind.InvalidOperation, record.Name,
                    $"{runtime.Name} start {record.Name} failed: {started.Stderr}");
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
    /// Starts the container's monitor, which runs `runtime create` and reports through a pipe whether the
    /// container process exists (with its pid) or why not. Returns (container pid, monitor pid).
    /// </summary>
    private (int Pid, int MonitorPid) LaunchMonitor(ContainerRecord record, RuntimeClient runtime)
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
                "--cgroup-path", CgroupPath(record), "--sync-fd", "3",
            };
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
            return (sync["pid"]!.GetValue<int>(), sync["monitorPid"]!.GetValue<int>());

        int exitCode = sync?["exitCode"]?.GetValue<int>() ?? 1;
        string message = sync?["message"]?.GetValue<string>() ?? "unknown error";
        var error = exitCode switch
        {
            127 => new EngineException("CommandNotFound", ErrorKind.ObjectNotFound, record.Name, $"Cannot start container {record.Name}: {message}"),
            126 => new EngineException("CommandNotExecutable", ErrorKind.PermissionDenied, record.Name, $"Cannot start container {record.Name}: {message}"),
            _ => new EngineException("ContainerCreateFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot start container {record.Name}: {message}"),
        };
        error.Data["exitCode"] = exitCode is 126 or 127 ? exitCode : 128;
        throw error;
    }

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
        RemoveRecordedObjects(record);
        CrashPoint.At("cleanup-after-cgroup");
        ScheduleNetworkTeardown(record);
        if (Directory.Exists(RunDir(id))) File.Delete(Path.Combine(RunDir(id), "pid"));
    }

    // ---- state ----------------------------------------------------------------------------------------------

    private sealed class ExitRecord
    {
        public int exitCode { get; set; }
        public int signal { get; set; }
        public bool oomKilled { get; set; }
        public string? finishedAt { get; set; }
    }

    /// <summary>
    /// Brings a running container's record up to date: its exit as the monitor recorded it, or, if the monitor is
    /// gone without a record, says so. Returns null if the container was auto-removed.
    /// </summary>
    private ContainerRecord? Reconcile(ContainerRecord record)
    {
        if (UndoInterruptedCreate(record)) return null;
        UndoInterruptedStart(record);
        SettleInterruptedNetworkChange(record);
        if (record.State is not (ContainerState.Running or ContainerState.Paused)) return record;
        string exitFile = ExitFile(record.Id);
        if (!File.Exists(exitFile))
        {
            if (ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart)) return record;
            if (!File.Exists(exitFile))
            {
                bool containerAlive = ProcessInfo.Exists(record.Pid);
                string message = containerAlive
                    ? "the container's monitor died: its output is no longer logged and its exit will not be recorded"
                    : MonitorLostWithoutExit;
                if (record.Error != message)
                {
                    record.Error = message;
                    if (!containerAlive)
                    {
                        record.State = ContainerState.Dead;
                        record.FinishedAt = DateTime.UtcNow;
                        CleanUpRun(record, null);
                    }
                    store.Update(record);
                }
                return record;
            }
        }
        ExitRecord? exit = null;
        try
        {
            exit = JsonSerializer.Deserialize<ExitRecord>(File.ReadAllText(exitFile));
        }
        catch (JsonException)
        {
        }
        record.State = ContainerState.Exited;
        record.ExitCode = exit?.exitCode ?? -1;
        record.OOMKilled = exit?.oomKilled ?? false;
        record.FinishedAt = exit?.finishedAt is string f && DateTime.TryParse(f, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : DateTime.UtcNow;
        record.Pid = 0;
        record.Error = exit is null ? "the exit record was unreadable" : null;
        CleanUpRun(record, null);
        store.Update(record);
        // A command that exits at once can end before the engine has recorded its start: never before it.
        var ended = record.FinishedAt is DateTime finished && record.StartedAt is DateTime began && finished < began ? began : record.FinishedAt;
        if (record.OOMKilled) RecordEvent(record, "oom", ended);
        RecordEvent(record, "die", ended, ("exitCode", (record.ExitCode ?? -1).ToString(CultureInfo.InvariantCulture)));
        RecordNetworkEvents(record, "disconnect", ended);
        if (record.Options.AutoRemove)
        {
            RemovedExits[record.Id] = new ContainerExit(record.Id, record.Name, record.ExitCode ?? -1, record.OOMKilled, record.FinishedAt);
            // A long-lived process (psc-api) must not keep every exit forever: a Wait comes soon after the exit.
            if (RemovedExits.Count > 1024)
                foreach (var old in RemovedExits.Where(kv => kv.Value.FinishedAt < DateTime.UtcNow.AddMinutes(-10)).ToList()) RemovedExits.TryRemove(old.Key, out _);
            RemoveFiles(record.Id);
            Networks.Forget(record.Id);
            store.Delete(record.Id);
            RecordEvent(record, "destroy");
            RemoveLedgerObjects(record.Id, HostObjectScope.Shared);
            VolumeObjects.RemoveAnonymous(record.Options); // docker run --rm takes its anonymous volumes along
            LayerStore.DeleteTree(ContainerDir(record.Id));
            return null;
        }
        return record;
    }

    /// <summary>How auto-removed containers ended, for a Wait that comes after the removal.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ContainerExit> RemovedExits = new();

    // ---- stop, wait, remove ------------------------------------------------------------------------------

    /// <summary>
    /// Without a signal: SIGTERM (or the image's stop signal), then SIGKILL after the timeout, as docker stop.
    /// With a signal: sends just that signal, as docker kill. <paramref name="stopSignal"/> replaces the stop signal
    /// (docker stop -s).
    /// </summary>
    public Container Stop(string idOrName, TimeSpan? timeout, string? signal = null, string? stopSignal = null)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName));
            if (record is not null) record = CancelRestartForStop(record);
            if (record is null || record.State is not (ContainerState.Running or ContainerState.Paused))
                return record is null ? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}") : ToContainer(record);
            var runtime = RuntimeFor(record.Options.Runtime);
            using var watching = WatchExit(record.Id);
            if (signal is not null)
            {
                RecordEvent(record, "kill", null, ("signal", signal));
                var r = runtime.Kill(record.Id, signal);
                if (r.ExitCode != 0 && File.Exists(ExitFile(record.Id)) is false)
                    throw new EngineException("SignalFailed", ErrorKind.InvalidOperation, record.Name, $"Cannot send {signal} to {record.Name}: {r.Stderr}");
                WaitForExit(record, TimeSpan.FromMilliseconds(200));
            }
            else
            {
                ThawIfPaused(record, runtime);
                // -StopSignal of the container, else the image's StopSignal, else SIGTERM; -StopTimeout likewise.
                var grace = timeout ?? TimeSpan.FromSeconds(record.Options.StopTimeout ?? ContainerOptions.DefaultStopTimeout);
                if (grace > TimeSpan.Zero)
                {
                    stopSignal ??= record.Options.StopSignal
                        ?? (images.Find(record.ImageId)?.Config.StopSignal is { Length: > 0 } s ? s : "SIGTERM");
                    runtime.Kill(record.Id, stopSignal);
                    CrashPoint.At("stop-after-signal");
                    if (!WaitForExit(record, grace)) runtime.Kill(record.Id, "SIGKILL", all: true);
                }
                else
                {
                    runtime.Kill(record.Id, "SIGKILL", all: true);
                }
                if (!WaitForExit(record, TimeSpan.FromSeconds(10)))
                    throw new EngineException("StopTimeout", ErrorKind.OperationStopped, record.Name, $"Container {record.Name} did not exit after SIGKILL.");
                CrashPoint.At("stop-after-exit");
            }
            var stopped = store.ById(record.Id)!;
            record = Reconcile(stopped);
            if (signal is null) RecordEvent(stopped, "stop");
            return record is null ? ToContainer(new ContainerRecord { Id = "", Name = idOrName, State = ContainerState.Exited }) : ToContainer(record);
        }
    }

    /// <summary>
    /// Waits until the container has exited: its monitor's exit record appears, or, when the monitor itself is
    /// gone (killed), the container's process is gone, since no record will ever come.
    /// </summary>
    private bool WaitForExit(ContainerRecord record, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        // The monitor writes the exit record just before it exits: its pidfd wakes us then, where a sleep would
        // look up to a slice late. Without a monitor (killed) the container's own exit is polled.
        int pidfd = MonitorExitHandle(record);
        try
        {
            while (true)
            {
                if (File.Exists(ExitFile(record.Id))) return true;
                if (!ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart) && !ProcessInfo.Exists(record.Pid)) return true;
                double left = (deadline - DateTime.UtcNow).TotalMilliseconds;
                if (left <= 0) return false;
                if (pidfd < 0) Thread.Sleep((int)Math.Clamp(left, 1, 10));
                else if (ProcessWaiter.Wait(pidfd, (int)Math.Clamp(left, 1, 50)))
                {
                    ProcessWaiter.Close(pidfd);
                    pidfd = -1;
                }
            }
        }
        finally
        {
            if (pidfd >= 0) ProcessWaiter.Close(pidfd);
        }
    }

    /// <summary>Frozen processes cannot act on a signal (not even SIGKILL under cgroup v1): thaw before stopping.</summary>
    private void ThawIfPaused(ContainerRecord record, RuntimeClient runtime)
    {
        if (record.State != ContainerState.Paused) return;
        var r = runtime.Run(TimeSpan.FromSeconds(30), "resume", record.Id);
        if (r.ExitCode == 0)
        {
            record.State = ContainerState.Running;
            store.Update(record);
        }
    }

    public ContainerExit Wait(string idOrName, CancellationToken cancel)
    {
        if (RemovedExits.TryGetValue(idOrName, out var removed)) return removed;
        var record = Resolve(idOrName);
        string id = record.Id;
        using var watching = record.State is ContainerState.Running or ContainerState.Paused ? WatchExit(id) : null;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            ContainerRecord? current;
            try
            {
                using (LockContainer(id))
                    current = store.ById(id) is { } r ? Reconcile(r) : null;
            }
            catch (EngineException e) when (e.ErrorId == "ContainerNotFound")
            {
                current = null;
            }
            if (current is null)
                return RemovedExits.TryGetValue(id, out var exit) ? exit
                    : throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"Container {idOrName} was removed while waiting.");
            switch (current.State)
            {
                case ContainerState.Exited:
                case ContainerState.Dead:
                case ContainerState.Restarting:
                    return new ContainerExit(id, current.Name, current.ExitCode ?? -1, current.OOMKilled, current.FinishedAt);
                case ContainerState.Created when current.Error is not null:
                    // Its start failed: docker wait returns the code the failure stands for (127, 126…).
                    return new ContainerExit(id, current.Name, current.ExitCode ?? -1, false, null);
                case ContainerState.Created:
                    throw new EngineException("ContainerNotStarted", ErrorKind.InvalidOperation, current.Name, $"Container {current.Name} has not been started.");
            }
            WaitForMonitor(current, cancel);
            PhaseClock.Mark("wait-monitor-exited");
        }
    }

    /// <summary>Blocks until the container's monitor exits (it writes the exit record just before), or a short while.</summary>
    private static void WaitForMonitor(ContainerRecord record, CancellationToken cancel)
    {
        int pidfd = ProcessWaiter.Open(record.MonitorPid, () => ProcessInfo.IsAlive(record.MonitorPid, record.MonitorStart));
        if (pidfd < 0)
        {
            // No monitor to wait on (it died; the container may still run): look again in a moment.
            Thread.Sleep(50);
            return;
        }
        try
        {
            // Slices, so cancellation (Ctrl+C, -Timeout) is seen within a quarter second.
            while (!cancel.IsCancellationRequested && !ProcessWaiter.Wait(pidfd, 250)) { }
        }
        finally
        {
            ProcessWaiter.Close(pidfd);
        }
    }

    public void Remove(string idOrName, bool force, bool removeVolumes = false)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            PhaseClock.Mark("remove-locked");
            var current = store.ById(record.Id) is { } r ? Reconcile(r) : null;
            PhaseClock.Mark("remove-reconciled");
            if (current is null) return;
            if (current.State == ContainerState.Restarting && !force)
                throw new EngineException("ContainerRestarting", ErrorKind.InvalidOperation, current.Name,
                    $"Container {current.Name} is restarting: stop it before removing it, or use -Force.");
            if (current.State is ContainerState.Running or ContainerState.Paused)
            {
                if (!force)
                    throw new EngineException("ContainerRunning", ErrorKind.InvalidOperation, current.Name,
                        $"Container {current.Name} is running: stop it before removing it, or use -Force.");
                var runtime = RuntimeFor(current.Options.Runtime);
                using var watching = WatchExit(current.Id);
                ThawIfPaused(current, runtime);
                runtime.Kill(current.Id, "SIGKILL", all: true);
                WaitForExit(current, TimeSpan.FromSeconds(10));
                current = Reconcile(current) ?? current;
            }
            CleanUpRun(current, null);
            RemoveFiles(current.Id);
            CrashPoint.At("remove-after-files");
            Networks.Forget(current.Id);
            store.Delete(current.Id); // its id range and volume uses go with the row
            RecordEvent(current, "destroy");
            // Objects shared with other records (a range's layer copies) go once no record needs them.
            RemoveLedgerObjects(current.Id, HostObjectScope.Shared);
            if (removeVolumes) VolumeObjects.RemoveAnonymous(current.Options);
        }
        // A kill here leaves the directory (its lock file only) with no record: Repair-ContainerState removes it.
        CrashPoint.At("remove-after-record");
        LayerStore.DeleteTree(ContainerDir(record.Id));
    }

    private void RemoveFiles(string id)
    {
        // What the ledger says the container's runs and files are (a run killed before its clean-up included).
        RemoveLedgerObjects(id, HostObjectScope.Run);
        RemoveLedgerObjects(id, HostObjectScope.Container);
        // A guard, not the clean-up: a root from before the ledger recorded mounts may still hold one here, and
        // deleting the tree must never reach into a mounted file system.
        foreach (string mount in Mounts.MountPointsUnder(ContainerDir(id))) Mounts.Unmount(mount, detach: true);
        if (Directory.Exists(RunDir(id))) LayerStore.DeleteTree(RunDir(id));
        // The lock file is removed with the directory by the caller once the lock is released.
        foreach (string entry in Directory.Exists(ContainerDir(id)) ? Directory.EnumerateFileSystemEntries(ContainerDir(id)).ToList() : [])
        {
            if (Path.GetFileName(entry) == "lock") continue;
            if (Directory.Exists(entry)) LayerStore.DeleteTree(entry);
            else File.Delete(entry);
        }
    }

    // ---- logs and stats -----------------------------------------------------------------------------------

    public IEnumerable<ContainerLogRecord> Logs(string idOrName, bool follow, CancellationToken cancel)
    {
        var record = Resolve(idOrName);
        string id = record.Id;
        return LogReader.Read(LogPath(id), follow, () => store.ById(id) is { } r && ReconcileIfIdle(r) is { State: ContainerState.Running or ContainerState.Paused }, cancel);
    }

    public CgroupLimits? ReadCgroupLimits(string idOrName)
    {
        var record = Resolve(idOrName);
        return Cgroups.Exists(CgroupPath(record)) ? Cgroups.ReadLimits(CgroupPath(record)) : null;
    }
}
