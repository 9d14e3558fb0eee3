using PSContainer.Engine.Containers;
using PSContainer.Engine.Networks;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The network provider's part of a run's lifecycle on the host object ledger. A starting container records its
/// namespace, veths and addresses before they are made. A stopping one does not wait for them to go: its ports and
/// names go at once (<see cref="NetworkManager.Deactivate"/>), its namespace file is unpinned, and the kernel destroys
/// the namespace and the veth pairs whose peers are in it in the background (netdev unregister waits for an RCU
/// grace period; ms each, longer under load). The ledger keeps naming them until they are seen gone: the next lease
/// on the network sweeps them, <see cref="WaitForNetworkTeardown"/> waits for them, Repair removes what the kernel
/// did not.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>
    /// Before PrepareNetwork makes them, in one transaction: the namespace, each endpoint's veth and address, and the
    /// endpoints marked active (one write instead of two on the start path; the clean-up of a failed start
    /// deactivates them).
    /// </summary>
    private void RecordNetworkObjects(string id, string netns, IReadOnlyList<NetworkEndpoint> endpoints)
    {
        var objects = new List<(string, string)> { (NetnsObjects.KindName, netns) };
        foreach (var e in endpoints)
        {
            objects.Add((VethObjects.KindName, e.Veth));
            objects.Add((LeaseObjects.KindName, LeaseObjects.NameOf(e)));
        }
        Ledger.RecordAll(id, objects, endpoints.Count == 0 ? null : (c, tx) => NetworkStore.SetActive(c, tx, id, null, true));
    }

    /// <summary>
    /// CleanUpRun's network part: what others see goes now (forwarded ports, names); the namespace is unpinned and
    /// the kernel takes it and the container's veth pairs down in the background.
    /// </summary>
    private void ScheduleNetworkTeardown(ContainerRecord record)
    {
        Networks.Deactivate(record.Id);
        PhaseClock.Mark("network-deactivated");
        NetworkNamespace.Delete(NetnsPath(record.Id));
        PhaseClock.Mark("netns-unpinned");
    }

    /// <summary>
    /// Waits (bounded by <paramref name="timeout"/>, polling every 10 ms) until the network objects the ledger names
    /// for containers that are not running are gone, forgetting each once it is; returns those still on the host at
    /// the deadline ("veth pscv…", "netns …"), so a leak check can insist on none. A namespace still pinned is not
    /// pending (nothing would take it down) and is returned at once. Tests call this before they look for leftovers.
    /// </summary>
    public IReadOnlyList<string> WaitForNetworkTeardown(TimeSpan timeout)
    {
        bool running(string id) => store.ById(id) is { State: ContainerState.Running or ContainerState.Paused or ContainerState.Restarting } || LockHeld(id);
        return SettleNetworkTeardown(running, timeout).Select(Describe).ToList();
    }

    private static string Describe(HostObject o) => $"{o.Kind} {o.Name}";

    /// <summary>The wait of <see cref="WaitForNetworkTeardown"/> for a given notion of "in use"; returns what is left.</summary>
    private List<HostObject> SettleNetworkTeardown(Func<string, bool> inUse, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        for (int round = 0; ; round++)
        {
            var left = Networks.PendingTeardowns(inUse);
            bool waitable = left.Count > 0 && left.All(o => o.Kind != NetnsObjects.KindName);
            if (!waitable || DateTime.UtcNow >= deadline || round >= 3000) return left;
            Thread.Sleep(10);
        }
    }

    /// <summary>
    /// Repair's network ledger pass, before the scan for unmarked leftovers: waits a moment for teardowns the kernel
    /// is still doing (they are not leaks), then removes what the ledger names for containers nobody uses and is still
    /// there (a namespace left pinned by a killed session, a veth whose namespace something else still holds).
    /// </summary>
    private List<string> RepairNetworkLedger(Func<string, bool> inUse, TimeSpan settle)
    {
        var left = SettleNetworkTeardown(inUse, settle);
        var removed = new List<string>();
        // Namespaces first: unpinning one lets the kernel take its veths along.
        foreach (var o in left.OrderBy(o => o.Kind == NetnsObjects.KindName ? 0 : 1))
        {
            if (o.Kind == NetnsObjects.KindName && RunOfAnotherRoot(o.ContainerId)) continue;
            if (RemovePendingIfUnused(o)) removed.Add(Describe(o));
        }
        return removed;
    }

    /// <summary>
    /// A pending network object removed under its container's lock, and only if the record read under it says
    /// nothing runs: <paramref name="o"/> came from a look taken before (and a settle wait after) it, and a start
    /// that finished meanwhile owns its namespace and veth again.
    /// </summary>
    private bool RemovePendingIfUnused(HostObject o) => IfIdle(o.ContainerId, _ => Networks.RemovePending(o));
}
