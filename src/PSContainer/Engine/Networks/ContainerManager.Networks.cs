using PSContainer.Engine.Networks;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>The container side of networking: a starting container's namespace and files, connect/disconnect, crash recovery.</summary>
public sealed partial class ContainerManager
{
    /// <summary>
    /// Gives a starting container its network: its own pinned namespace (none and bridge networks, wired by
    /// <see cref="NetworkManager.SetUp"/>), another container's (container:NAME) or the host's, and writes the
    /// /etc/hostname, /etc/hosts and /etc/resolv.conf it gets. Returns the namespace to join (null: the host's).
    /// </summary>
    private string? PrepareNetwork(ContainerRecord record, string hostname)
    {
        var o = record.Options;
        string id = record.Id, dir = ContainerDir(id);
        string? netns;
        string hosts, resolv;
        string hostResolv = File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "";
        if (o.Network == "host")
        {
            netns = null;
            hosts = File.Exists("/etc/hosts") ? File.ReadAllText("/etc/hosts") : "";
            resolv = hostResolv;
        }
        else if (o.Network.StartsWith("container:", StringComparison.Ordinal))
        {
            string other = o.Network["container:".Length..];
            var target = ReconcileIfIdle(Resolve(other));
            if (target is null || target.State is not (ContainerState.Running or ContainerState.Paused))
                throw new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, other, $"Cannot join the network of container {other}: it is not running.");
            if (target.Options.Network == "host" || target.Options.Network.StartsWith("container:", StringComparison.Ordinal))
                throw new EngineException("InvalidNetworkMode", ErrorKind.InvalidArgument, other,
                    $"Cannot join the network of container {other}: it uses -Network {target.Options.Network}; join that instead.");
            netns = NetnsPath(target.Id);
            if (!File.Exists(netns))
                throw new EngineException("NetworkNamespaceMissing", ErrorKind.InvalidOperation, other, $"Container {other} has no network namespace to share.");
            string targetDir = ContainerDir(target.Id);
            hosts = File.ReadAllText(Path.Combine(targetDir, "hosts"));
            resolv = File.ReadAllText(Path.Combine(targetDir, "resolv.conf"));
        }
        else
        {
            netns = NetnsPath(id);
            var endpoints = o.Network == "none" ? [] : Networks.EndpointsOf(id);
            RecordNetworkObjects(id, netns, endpoints);
            PhaseClock.Mark("network-recorded");
            if (!File.Exists(netns)) NetworkNamespace.Create(netns);
            PhaseClock.Mark("netns-made");
            if (endpoints.Count > 0) Networks.SetUp(id, netns, endpoints);
            hosts = Networks.HostsFile(id, record.Name, hostname, o);
            resolv = o.Network == "none" && o.DnsServers.Count == 0 ? hostResolv : Networks.ResolvConf(id, o);
        }
        File.WriteAllText(Path.Combine(dir, "hostname"), hostname + "\n");
        File.WriteAllText(Path.Combine(dir, "hosts"), hosts);
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), resolv);
        return netns;
    }

    /// <summary>Connects a container to a network (docker network connect); a running one gets its interface at once.</summary>
    public Container Connect(string idOrName, string network, string? address, string[] aliases)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName)) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            if (NetworkManager.IsSpecialMode(record.Options.Network))
                throw new EngineException("InvalidNetworkMode", ErrorKind.InvalidOperation, record.Name,
                    $"Container {record.Name} uses -Network {record.Options.Network} and cannot be connected to other networks.");
            bool running = record.State is ContainerState.Running or ContainerState.Paused;
            if (!running)
            {
                // Only a record changes (one transaction): nothing to recover from.
                Networks.Connect(record.Id, network, address, aliases, null);
                return ToContainer(record);
            }
            string marker = NetworkChangeMarker(record.Id, "connect", Networks.Resolve(network).Id);
            WriteMarker(marker);
            try
            {
                Networks.Connect(record.Id, network, address, aliases, NetnsPath(record.Id));
                RewriteNetworkFiles(record);
            }
            finally
            {
                // A failure was undone by Connect itself; only a killed session leaves the marker for the next command.
                File.Delete(marker);
            }
        }
        return ToContainer(record);
    }

    public Container Disconnect(string idOrName, string network)
    {
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Reconcile(Current(record.Id, idOrName)) ?? throw new EngineException("ContainerNotFound", ErrorKind.ObjectNotFound, idOrName, $"No such container: {idOrName}");
            if (record.State is not (ContainerState.Running or ContainerState.Paused))
            {
                Networks.Disconnect(record.Id, network);
                return ToContainer(record);
            }
            var target = Networks.Resolve(network);
            if (!Networks.EndpointsOf(record.Id).Any(e => e.NetworkId == target.Id))
                throw new EngineException("NotConnected", ErrorKind.InvalidOperation, network, $"The container is not connected to network '{target.Name}'.");
            // A disconnect that fails half-way keeps its marker: the next command finishes it, as after a kill.
            string marker = NetworkChangeMarker(record.Id, "disconnect", target.Id);
            WriteMarker(marker);
            Networks.Disconnect(record.Id, network);
            RewriteNetworkFiles(record);
            File.Delete(marker);
        }
        return ToContainer(record);
    }

    /// <summary>
    /// Recorded in the run directory of a running container before a connect or disconnect touches the host
    /// (a veth, the firewall, a DNS server): connect-&lt;network id&gt; or disconnect-&lt;network id&gt;.
    /// </summary>
    private string NetworkChangeMarker(string id, string verb, string networkId) => Path.Combine(RunDir(id), $"{verb}-{networkId}");

    private IEnumerable<string> NetworkChangeMarkers(string id) =>
        Directory.Exists(RunDir(id))
            ? Directory.EnumerateFiles(RunDir(id)).Where(f => Path.GetFileName(f) is var n && (n.StartsWith("connect-", StringComparison.Ordinal) || n.StartsWith("disconnect-", StringComparison.Ordinal)))
            : [];

    /// <summary>
    /// Under the container's lock: settles a connect or disconnect whose session was killed half-way. A connect
    /// that had made its endpoint active is finished (firewall and DNS brought up to date); one that had not is
    /// undone. A disconnect is finished. Either way the container's /etc/hosts and resolv.conf are rewritten.
    /// </summary>
    private void SettleInterruptedNetworkChange(ContainerRecord record)
    {
        bool any = false;
        foreach (string marker in NetworkChangeMarkers(record.Id).ToList())
        {
            string name = Path.GetFileName(marker);
            bool connecting = name.StartsWith("connect-", StringComparison.Ordinal);
            Networks.SettleInterruptedChange(record.Id, name[(name.IndexOf('-') + 1)..], connecting);
            File.Delete(marker);
            any = true;
        }
        if (any && record.State is ContainerState.Running or ContainerState.Paused) RewriteNetworkFiles(record);
    }

    /// <summary>Rewrites a running container's /etc/hosts and /etc/resolv.conf in place (they are bind mounts of these files' inodes).</summary>
    private void RewriteNetworkFiles(ContainerRecord record)
    {
        string dir = ContainerDir(record.Id);
        string hostname = File.Exists(Path.Combine(dir, "hostname")) ? File.ReadAllText(Path.Combine(dir, "hostname")).Trim() : record.Id[..12];
        File.WriteAllText(Path.Combine(dir, "hosts"), Networks.HostsFile(record.Id, record.Name, hostname, record.Options));
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), Networks.ResolvConf(record.Id, record.Options));
    }

    /// <summary>
    /// The crash-recovery pass: brings every container's state up to date (tearing down the network of those that
    /// exited), then removes host objects nothing accounts for: our veths and bridges, network namespace files of
    /// containers that are not running, idle DNS servers, and rules of removed containers. Returns what it removed.
    /// </summary>
    /// <param name="rewriteFirewall">Rewrite the firewall rules from the database (not at module import).</param>
    /// <param name="settle">How long pending network teardowns are given to finish before what is left is removed:
    /// none at module import (a session must not wait for another's teardown; removing a veth the kernel is still
    /// taking down is harmless), two seconds for Repair-ContainerState, which reports what it removed.</param>
    public IReadOnlyList<string> Repair(bool rewriteFirewall = true, TimeSpan? settle = null)
    {
        // One read of the store after reconciling, not one query per veth or namespace file looked at.
        var records = store.All();
        var active = records.Select(ReconcileIfIdle).OfType<ContainerRecord>()
            .Where(r => r.State is ContainerState.Running or ContainerState.Paused).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        bool InUse(string id) => active.Contains(id) || LockHeld(id);
        // The ledger's pending teardowns first: what the kernel is still taking down is not a leftover.
        var removed = RepairNetworkLedger(InUse, settle ?? TimeSpan.FromSeconds(2));
        removed.AddRange(Networks.Repair(InUse, rewriteFirewall));
        // Container directories of killed creations and removals that no record accounts for.
        var known = store.All().Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        removed.AddRange(RemoveOrphanContainerDirectories(known).Select(id => $"container directory {id}"));
        // Containers still running whose records went with a deleted state root.
        removed.AddRange(RemoveOrphanRuns(known));
        // Step containers of builds whose process was killed.
        removed.AddRange(RemoveEndedBuildContainers(records));
        // What the ledger says runs made, for containers nobody uses (custom cgroup parents included).
        removed.AddRange(RemoveUnusedLedgerObjects(InUse));
        // Temporaries of killed imports and pulls: only those whose owning process is gone.
        removed.AddRange(Storage.TempOwner.RemoveOrphans(paths.Temp).Select(name => $"temporary {name}"));
        // Shifted layer copies (user namespaces without idmapped mounts) of ranges no container uses, made before
        // the ledger recorded them (the ledger's entries went above).
        removed.AddRange(ShiftedLayers.RemoveUnrecorded());
        // Volumes: killed creations and removals finished, driver mounts no running container uses that the ledger
        // did not name (made before it recorded them) taken off.
        removed.AddRange(Volumes.Repair(InUse));
        string netnsDir = Path.Combine(paths.RunRoot, "netns");
        if (Directory.Exists(netnsDir))
        {
            foreach (string file in Directory.GetFiles(netnsDir))
            {
                // Another state root may share this run root: its containers' namespaces are not ours to remove.
                if (InUse(Path.GetFileName(file)) || RunOfAnotherRoot(Path.GetFileName(file))) continue;
                NetworkNamespace.Delete(file);
                removed.Add($"netns {Path.GetFileName(file)}");
            }
        }
        return removed;
    }

    /// <summary>Whether another process holds a container's lock (it is being started, stopped or removed right now).</summary>
    private bool LockHeld(string id)
    {
        string lockFile = Path.Combine(ContainerDir(id), "lock");
        if (!File.Exists(lockFile)) return false;
        using var probe = FileLock.TryAcquire(lockFile, exclusive: true);
        return probe is null;
    }
}
