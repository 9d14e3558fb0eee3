using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Networks;

/// <summary>
/// The network side of taking teardown off the user's path (docs/architecture.md, "Network teardown"): a stopping
/// container's ports and names go at once; its veth pairs go with its namespace, which the kernel destroys in the
/// background once ContainerManager unpins it. The host object ledger names what may still be pending.
/// </summary>
public sealed partial class NetworkManager
{
    /// <summary>
    /// The part of unwiring a stopped container that others see at once: its ports stop being forwarded and its names
    /// stop resolving. Its veths are left to go with its namespace (ContainerManager.ScheduleNetworkTeardown).
    /// </summary>
    public void Deactivate(string containerId)
    {
        var endpoints = store.EndpointsOf(containerId);
        if (!endpoints.Any(e => e.Active)) return;
        using (Lock())
        {
            store.SetActive(containerId, null, false);
            if (store.PortsOf(containerId).Count > 0) ApplyFirewall();
            foreach (var e in endpoints) RefreshDns(store.ById(e.NetworkId)!);
        }
    }

    /// <summary>Recorded before a running container's endpoint is wired (connect): its veth and the address it holds.</summary>
    private void RecordEndpoint(NetworkEndpoint e) =>
        ledger.RecordAll(e.ContainerId, [(VethObjects.KindName, e.Veth), (LeaseObjects.KindName, LeaseObjects.NameOf(e))]);

    /// <summary>Forgets the entries of an endpoint whose veth was deleted here and now (disconnect, a failed connect).</summary>
    private void ForgetEndpoint(NetworkEndpoint e) => ledger.ForgetAll([
        new HostObject(e.ContainerId, VethObjects.KindName, e.Veth, default),
        new HostObject(e.ContainerId, LeaseObjects.KindName, LeaseObjects.NameOf(e), default)]);

    /// <summary>
    /// Before a lease is handed out on <paramref name="network"/>: the addresses whose veth is still on the host though
    /// no container holds them any more (a removed container whose namespace the kernel has not destroyed yet), which a
    /// new lease must not take. Entries of removed containers whose objects are gone are forgotten on the way: this is
    /// where the ledger's pending teardowns are swept without a Repair (the caller forgets <c>Gone</c> in the
    /// transaction of the lease, so the sweep costs no write of its own). An address asked for explicitly
    /// (<paramref name="requested"/>) is freed at once instead, by deleting the old veth.
    /// </summary>
    private (HashSet<uint> Held, List<HostObject> Gone) AddressesOfPendingTeardowns(NetworkRecord network, string? requested)
    {
        var held = new HashSet<uint>();
        var gone = new List<HostObject>();
        var withEndpoints = store.Endpoints().Select(e => e.ContainerId).ToHashSet(StringComparer.Ordinal);
        var pending = ledger.All().Where(o => LeaseObjects.IsNetworkKind(o.Kind) && !withEndpoints.Contains(o.ContainerId)).ToList();
        if (pending.Count == 0) return (held, gone);
        var links = VethObjects.LinkNames();
        foreach (var o in pending)
        {
            if (!LeaseObjects.Present(o, links))
            {
                gone.Add(o);
                continue;
            }
            if (o.Kind != LeaseObjects.KindName) continue;
            var (networkId, address, veth) = LeaseObjects.Parse(o.Name);
            if (networkId != network.Id || !Ipv4.TryParse(address, out uint a)) continue;
            if (requested is not null && Ipv4.TryParse(requested, out uint r) && r == a)
            {
                new VethObjects().Remove(veth);
                gone.Add(o);
                gone.Add(new HostObject(o.ContainerId, VethObjects.KindName, veth, default));
                continue;
            }
            held.Add(a);
        }
        return (held, gone);
    }

    /// <summary>
    /// The network entries of the ledger whose container is not <paramref name="inUse"/>, each with whether its object
    /// is still on the host (one link dump for all). Entries already gone are forgotten.
    /// </summary>
    public List<HostObject> PendingTeardowns(Func<string, bool> inUse)
    {
        var entries = ledger.All().Where(o => LeaseObjects.IsNetworkKind(o.Kind) && !inUse(o.ContainerId)).ToList();
        if (entries.Count == 0) return entries;
        var links = VethObjects.LinkNames();
        var gone = entries.Where(o => !LeaseObjects.Present(o, links)).ToList();
        ledger.ForgetAll(gone);
        return entries.Except(gone).ToList();
    }

    /// <summary>Removes a pending entry's object here and now (Repair, once the kernel had its time) and forgets it.</summary>
    public bool RemovePending(HostObject o)
    {
        IHostObjectProvider[] providers = [new NetnsObjects(), new VethObjects(), new LeaseObjects()];
        return ledger.RemoveWith(providers, o);
    }
}
