using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PSContainer.Engine.Security;
using PSContainer.Engine.Storage;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>The uid and gid maps of a container's user namespace (container id 0 first).</summary>
public sealed record UserNamespaceMaps(IdMapping Uid, IdMapping Gid)
{
    public override string ToString() => Uid == Gid ? Uid.ToString() : $"uid {Uid}, gid {Gid}";
}

/// <summary>
/// User namespaces (-UserNamespace Host|Auto|c:h:n). Root in the container is an unprivileged id on the host. The
/// image's layers stay shared and untouched: each lower layer is cloned through the namespace's id maps (a detached
/// idmapped mount) and the overlay is made over those clones (overlayfs keeps private clones of its layers), so only
/// the overlay itself is mounted, under the container's directory where every clean-up already looks. Where the
/// kernel cannot idmap, a one-time copy of each layer with shifted owners is made per id range instead, with a warning.
/// </summary>
public sealed partial class ContainerManager
{
    private IdRangeAllocator? idRanges;
    private readonly ConcurrentQueue<string> warnings = new();
    private static volatile bool idmapUnsupported;

    /// <summary>The Auto ranges in use, from the state database.</summary>
    public IdRangeAllocator IdRanges => idRanges ??= new IdRangeAllocator(images.Db);

    /// <summary>Warnings the engine has for the user (the cmdlets write them); each is returned once.</summary>
    public IReadOnlyList<string> TakeWarnings()
    {
        var list = new List<string>();
        while (warnings.TryDequeue(out var w)) list.Add(w);
        return list;
    }

    /// <summary>$env:PSCONTAINER_NO_IDMAP=1 turns idmapped mounts off (the copy fallback is then used; for tests and broken kernels).</summary>
    public static bool IdmappedMountsDisabled => Environment.GetEnvironmentVariable("PSCONTAINER_NO_IDMAP") is "1" or "true";

    private static UserNamespaceSetting UserNamespaceOf(ContainerOptions o) =>
        o.UserNamespace is null ? UserNamespaceSetting.Host : UserNamespaceSetting.Parse(o.UserNamespace);

    /// <summary>
    /// At creation: the mode is fixed (the module default applied), so the environment cannot change it later. A user
    /// namespace asked for with options that need the host's (<see cref="UserNamespaceRules.HostOnlyOptions"/>) is
    /// refused; one that comes only from the module default is dropped for such a container, with a warning, as
    /// docker's daemon-wide userns-remap leaves privileged and host-namespace containers in the host's.
    /// </summary>
    private void ResolveUserNamespace(ContainerOptions o)
    {
        bool given = o.UserNamespace is not null;
        var setting = given ? UserNamespaceSetting.Parse(o.UserNamespace!) : UserNamespaceSetting.Default;
        if (setting.Kind != UserNamespaceKind.Host && UserNamespaceRules.HostOnlyOptions(o) is { Count: > 0 } hostOnly)
        {
            string list = string.Join(", ", hostOnly);
            if (given)
                throw new EngineException("UserNamespaceConflict", ErrorKind.InvalidArgument, o.UserNamespace,
                    $"-UserNamespace {o.UserNamespace} cannot be combined with {list}: they need the host's user namespace. Use -UserNamespace Host.");
            warnings.Enqueue($"The new container{(o.Name is null ? "" : " " + o.Name)} runs without a user namespace ($env:PSCONTAINER_USERNS={setting} is not applied): {list} need the host's user namespace.");
            setting = UserNamespaceSetting.Host;
        }
        if (setting.Kind == UserNamespaceKind.Mapped)
        {
            var (uids, gids) = SubordinateIds.Delegated();
            UserNamespaceRules.CheckFixedMap(o.UserNamespace!, setting.Map!.Value, uids, gids);
        }
        o.UserNamespace = setting.ToString();
    }

    /// <summary>
    /// For an Auto container: what records its range in the transaction that inserts its row (the pscontainer
    /// user's ids are delegated first, outside it); null for the other modes.
    /// </summary>
    private static Func<SqliteConnection, SqliteTransaction, IdRange>? IdRangeAllocation(ContainerRecord record)
    {
        if (UserNamespaceOf(record.Options).Kind != UserNamespaceKind.Auto) return null;
        var (uids, gids) = SubordinateIds.EnsureDelegated(UserNamespaceSetting.AutoSize);
        return (c, tx) => IdRangeAllocator.Allocate(c, tx, record.Id, uids, gids, UserNamespaceSetting.AutoSize);
    }

    /// <summary>The maps a container runs with; null for Host.</summary>
    private UserNamespaceMaps? MapsOf(ContainerRecord record)
    {
        var setting = UserNamespaceOf(record.Options);
        switch (setting.Kind)
        {
            case UserNamespaceKind.Host:
                return null;
            case UserNamespaceKind.Mapped:
                return new UserNamespaceMaps(setting.Map!.Value, setting.Map.Value);
            default:
                // A row without its range was made by an engine that allocated it in a second transaction (and was
                // killed in between): it gets one now.
                if (record.IdRange is null)
                {
                    var (uids, gids) = SubordinateIds.EnsureDelegated(UserNamespaceSetting.AutoSize);
                    record.IdRange = IdRanges.Of(record.Id) ?? IdRanges.Allocate(record.Id, uids, gids, UserNamespaceSetting.AutoSize);
                }
                return new UserNamespaceMaps(record.IdRange.UidMap, record.IdRange.GidMap);
        }
    }

    /// <summary>What Get-Container shows: host, or the maps ("0:16777216:65536").</summary>
    private static string UserNamespaceText(ContainerRecord record)
    {
        var setting = UserNamespaceOf(record.Options);
        if (setting.Kind != UserNamespaceKind.Auto) return setting.ToString();
        return record.IdRange is { } r ? new UserNamespaceMaps(r.UidMap, r.GidMap).ToString() : "auto";
    }

    /// <summary>
    /// Mounts the container's root: the overlay of its image's layers, through idmapped mounts when it has a user
    /// namespace. The upper and work directories belong to the container's root on the host.
    /// </summary>
    private void MountRootfs(ContainerRecord record, UserNamespaceMaps? maps, IReadOnlyList<string> lowers, string upper, string work, string rootfs)
    {
        if (maps is null)
        {
            Mounts.MountOverlay(lowers, upper, work, rootfs);
            return;
        }
        foreach (string d in new[] { upper, work }) ChownToRoot(d, maps);
        if (!IdmappedMountsDisabled && !idmapUnsupported)
        {
            try
            {
                MountIdmappedOverlay(record.Id, lowers, upper, work, rootfs, maps);
                return;
            }
            catch (NativeException e) when (IdmappedMount.IsUnsupported(e))
            {
                // Only the kernel refusing to idmap is a fact about the host for the rest of the session; any other
                // refusal in the mount path falls back for this container alone.
                if (e.Operation is "open_tree" || e.Operation.StartsWith("mount_setattr", StringComparison.Ordinal)) idmapUnsupported = true;
                warnings.Enqueue($"This kernel or file system cannot make idmapped mounts ({e.Message}): container {record.Name} uses a copy of each image layer with shifted owners, made once per id range under {ShiftedLayersDir}.");
            }
        }
        else
        {
            warnings.Enqueue($"Idmapped mounts are off{(IdmappedMountsDisabled ? " ($env:PSCONTAINER_NO_IDMAP)" : "")}: container {record.Name} uses a copy of each image layer with shifted owners, made once per id range under {ShiftedLayersDir}.");
        }
        // Shared range lock until the overlay holds the copies: a removal of the range's last other container
        // cannot delete them under us, nor can a newer container of a freed range reuse copies being deleted.
        using var rangeLock = LockShiftedRange(maps, exclusive: false);
        Mounts.MountOverlay(lowers.Select(l => ShiftedLayer(l, maps)).ToList(), upper, work, rootfs);
    }

    /// <summary>
    /// Set once the kernel has refused a detached mount as an overlay layer (EINVAL): before "fs: allow detached
    /// mounts in clone_private_mount()" (db04662e2f4f, 2025) overlayfs took only mounts of the caller's namespace.
    /// $env:PSCONTAINER_IDMAP_ATTACHED=1 asks for that way on any kernel (tests).
    /// </summary>
    private static volatile bool detachedLayersRefused;

    private static bool AttachIdmappedLayers => detachedLayersRefused || Environment.GetEnvironmentVariable("PSCONTAINER_IDMAP_ATTACHED") is "1" or "true";

    /// <summary>
    /// The overlay over idmapped clones of the lower layers. The clones are detached mounts held by descriptors,
    /// given to overlayfs by their /proc/self/fd paths: nothing but the overlay is ever mounted, and a kill at any
    /// point leaves nothing (descriptors die with the process). A kernel that refuses detached layers gets each
    /// clone attached under containers/&lt;id&gt;/idmap/N first (inside the start-in-progress window, where the
    /// undo unmounts everything under the container's directory), detached again once the overlay holds them.
    /// </summary>
    private void MountIdmappedOverlay(string id, IReadOnlyList<string> lowers, string upper, string work, string rootfs, UserNamespaceMaps maps)
    {
        int userns = IdmappedMount.CreateUserNamespace([maps.Uid], [maps.Gid]);
        var trees = new List<int>();
        var attached = new List<string>();
        try
        {
            foreach (string lower in lowers) trees.Add(IdmappedMount.CloneIdmapped(lower, userns));
            CrashPoint.At("after-idmap");
            if (!AttachIdmappedLayers)
            {
                try
                {
                    Mounts.MountOverlay(trees.Select(IdmappedMount.PathOf).ToList(), upper, work, rootfs);
                    return;
                }
                catch (NativeException e) when (e.Errno == Errors.EINVAL && e.Operation == "mount overlay")
                {
                    // The kernel's answer (not our own check of the option string's length, which the longer
                    // attached paths would fail all the more).
                    detachedLayersRefused = true;
                }
            }
            string idmapDir = Path.Combine(ContainerDir(id), "idmap");
            for (int i = 0; i < trees.Count; i++)
            {
                // Short names: the overlay's option string (one page) holds every lower dir's path.
                string target = Path.Combine(idmapDir, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Directory.CreateDirectory(target);
                IdmappedMount.Attach(trees[i], target);
                attached.Add(target);
            }
            CrashPoint.At("after-idmap-attach");
            Mounts.MountOverlay(attached, upper, work, rootfs);
        }
        finally
        {
            foreach (int tree in trees) IdmappedMount.Close(tree);
            IdmappedMount.Close(userns);
            // The overlay holds private clones of its layers: the attached ones are not needed past this point, and
            // whatever happens (a kill included) later clean-ups unmount everything under the container's directory.
            foreach (string t in attached) Mounts.Unmount(t, detach: true);
        }
    }

    /// <summary>The maps of a container as recorded, allocating nothing.</summary>
    private static UserNamespaceMaps? MapsOfRecorded(ContainerRecord record)
    {
        var setting = UserNamespaceOf(record.Options);
        return setting.Kind switch
        {
            UserNamespaceKind.Mapped => new UserNamespaceMaps(setting.Map!.Value, setting.Map.Value),
            UserNamespaceKind.Auto when record.IdRange is { } r => new UserNamespaceMaps(r.UidMap, r.GidMap),
            _ => null,
        };
    }

    private static void ChownToRoot(string path, UserNamespaceMaps maps)
    {
        if (File.Exists(path) || Directory.Exists(path))
            OwnershipShift.Chown(path, maps.Uid.Outside, maps.Gid.Outside);
    }

    /// <summary>
    /// The container's files the engine writes (hostname, hosts, resolv.conf) belong to its root, so root inside
    /// can edit them as in docker.
    /// </summary>
    private void ChownRunFiles(string id, UserNamespaceMaps? maps)
    {
        if (maps is null) return;
        foreach (string f in new[] { "hostname", "hosts", "resolv.conf" }) ChownToRoot(Path.Combine(ContainerDir(id), f), maps);
    }

    /// <summary>
    /// The spec's user namespace. sysfs can only be mounted by a namespace that owns the network namespace: for one
    /// joined by path (made by the engine, owned by the host) or the host's, /sys is bound from the host read-only
    /// instead, as podman and runc's rootless spec do.
    /// </summary>
    private static void ApplyUserNamespace(UserNamespaceMaps? maps, JsonObject spec)
    {
        if (maps is null) return;
        var linux = spec["linux"]!.AsObject();
        linux["namespaces"]!.AsArray().Add(new JsonObject { ["type"] = "user" });
        linux["uidMappings"] = new JsonArray(IdMapJson(maps.Uid));
        linux["gidMappings"] = new JsonArray(IdMapJson(maps.Gid));
        bool ownNetns = linux["namespaces"]!.AsArray().Any(n => n?["type"]?.GetValue<string>() == "network" && n["path"] is null);
        if (ownNetns) return;
        foreach (var m in spec["mounts"]!.AsArray())
        {
            if (m?["destination"]?.GetValue<string>() != "/sys" || m["type"]?.GetValue<string>() != "sysfs") continue;
            m["type"] = "bind";
            m["source"] = "/sys";
            m["options"] = new JsonArray("rbind", "nosuid", "noexec", "nodev", "ro");
        }
    }

    private static JsonObject IdMapJson(IdMapping m) => new() { ["containerID"] = m.Inside, ["hostID"] = m.Outside, ["size"] = m.Count };
}
