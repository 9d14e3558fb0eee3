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

    /// <summary>Gives a host path to the container's root (the first ids of the maps), if it exists.</summary>
    public void ChownToRoot(string path)
    {
        if (File.Exists(path) || Directory.Exists(path))
            OwnershipShift.Chown(path, Uid.Outside, Gid.Outside);
    }
}

/// <summary>
/// User namespaces (-UserNamespace Host|Auto|c:h:n). Root in the container is an unprivileged id on the host. The
/// container's root is mounted through idmapped clones of the image's layers, or shifted copies where the kernel
/// cannot idmap, by the rootfs provider (Providers/RootfsProvider.cs).
/// </summary>
public sealed partial class ContainerManager
{
    private IdRangeAllocator? idRanges;
    private readonly ConcurrentQueue<string> warnings = new();

    /// <summary>The Auto ranges in use, from the state database.</summary>
    public IdRangeAllocator IdRanges => idRanges ??= new IdRangeAllocator(images.Db);

    /// <summary>Warnings the engine has for the user (the cmdlets write them); each is returned once.</summary>
    public IReadOnlyList<string> TakeWarnings()
    {
        var list = new List<string>();
        while (warnings.TryDequeue(out var w)) list.Add(w);
        return list;
    }

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

    private static void ChownToRoot(string path, UserNamespaceMaps maps) => maps.ChownToRoot(path);

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
