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
        return new RuntimeClient(name, binary, Path.Combine(paths.RunRoot, "runtime", name), bundled: runtime is "" or "psc");
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

    // ---- logs and stats -----------------------------------------------------------------------------------

    public IEnumerable<ContainerLogRecord> Logs(string idOrName, bool follow, CancellationToken cancel)
    {
        var record = Resolve(idOrName);
        string id = record.Id;
        if (!follow) return LogReader.Read(LogPath(id), null, cancel);
        return LogReader.Read(LogPath(id), () => FollowRun(id, beforeStart: false, () => store.ById(id) is { } r && ReconcileIfIdle(r) is { State: ContainerState.Running or ContainerState.Paused }), cancel);
    }

    /// <summary>Followers of a log hold this file shared until they have opened every file they will read.</summary>
    private string LogFollowersFile(string id) => Path.Combine(ContainerDir(id), "log-followers");

    /// <summary>
    /// The run of container <paramref name="id"/> for a follower of its log: ended when the monitor writes its exit
    /// record (or, asked now and then, when <paramref name="stillRunning"/> says no), and a hold that an auto-removal
    /// waits for (<see cref="WaitForLogFollowers"/>) so the files are not deleted under a follower that has not opened
    /// them yet: docker run --rm prints every line even when its attach falls behind. <paramref name="beforeStart"/>:
    /// the follower waits for the next start (an attach before docker run's start), so an exit record there now is
    /// the last run's, not the end of the one followed; otherwise any exit record is the end (one written already
    /// included, by a run not yet reconciled).
    /// </summary>
    public LogFollowRun FollowRun(string id, bool beforeStart, Func<bool> stillRunning)
    {
        FileLock? hold = null;
        try
        {
            if (Directory.Exists(ContainerDir(id))) hold = FileLock.Acquire(LogFollowersFile(id), exclusive: false);
        }
        catch (NativeException)
        {
            // Removed meanwhile, or a directory this session cannot write: the log is followed without a hold.
        }
        return new LogFollowRun(ExitFile(id), hold, beforeStart, stillRunning);
    }

    /// <summary>
    /// Before an auto-removal deletes the log: waits until no follower holds it (each lets go once it has every file
    /// open, which takes milliseconds after the exit), for 10 s at most so a wedged reader cannot keep a removed
    /// container's files. Returns the lock, held exclusive until the caller has deleted them.
    /// </summary>
    private FileLock? WaitForLogFollowers(string id)
    {
        string file = LogFollowersFile(id);
        long until = Environment.TickCount64 + 10_000;
        while (File.Exists(file))
        {
            if (FileLock.TryAcquire(file, exclusive: true) is { } alone) return alone;
            if (Environment.TickCount64 > until) return null;
            Thread.Sleep(2);
        }
        return null;
    }

    public CgroupLimits? ReadCgroupLimits(string idOrName)
    {
        var record = Resolve(idOrName);
        return Cgroups.Exists(CgroupPath(record)) ? Cgroups.ReadLimits(CgroupPath(record)) : null;
    }
}
