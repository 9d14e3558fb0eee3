using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Engine.Security;

/// <summary>
/// What a user namespace cannot be combined with, checked at creation (next to IsolationSpec.Validate) so that a
/// container never gets as far as a start that fails or quietly behaves differently.
/// </summary>
public static class UserNamespaceRules
{
    /// <summary>
    /// The options that need the host's user namespace: -Privileged (its devices and capabilities are the host's;
    /// docker refuses it with userns-remap unless --userns=host), and the host's pid, ipc, uts or network namespace
    /// (owned by the host's user namespace: /proc, mqueue and sysfs cannot be mounted for them, nor their names set),
    /// and net.* sysctls (the engine makes the network namespace before the container's user namespace exists, so
    /// the container's root does not own it: the runtime's write gets EACCES). Empty when none is given.
    /// </summary>
    public static IReadOnlyList<string> HostOnlyOptions(ContainerOptions o)
    {
        var found = new List<string>();
        if (o.Privileged) found.Add("-Privileged");
        if (o.PidMode == "host") found.Add("-Pid host");
        if (o.IpcMode == "host") found.Add("-Ipc host");
        if (o.UtsMode == "host") found.Add("-Uts host");
        if (o.Network == "host") found.Add("-Network host");
        foreach (string key in o.Sysctls.Keys.Where(k => k.StartsWith("net.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            found.Add($"-Sysctl {key}");
        return found;
    }

    /// <summary>
    /// A fixed map (-UserNamespace c:h:n) must not make the container's root the host's root, nor share ids with the
    /// Auto containers (the pscontainer user's delegated ranges in /etc/subuid and /etc/subgid): either would undo
    /// the isolation a user namespace is for.
    /// </summary>
    public static void CheckFixedMap(string text, IdMapping map, IEnumerable<SubordinateRange> autoUids, IEnumerable<SubordinateRange> autoGids)
    {
        if (map.Outside == 0)
            throw new EngineException("UserNamespaceMapsHostRoot", ErrorKind.InvalidArgument, text,
                $"-UserNamespace '{text}' maps the container's root to the host's root (host id 0): that is no isolation; use Host, or a map onto unprivileged ids.");
        long end = map.Outside + map.Count;
        foreach (var (what, ranges) in new[] { ("uids", autoUids), ("gids", autoGids) })
        {
            var hit = ranges.FirstOrDefault(r => map.Outside < r.End && r.Start < end);
            if (hit.Count > 0)
                throw new EngineException("UserNamespaceOverlapsAuto", ErrorKind.InvalidArgument, text,
                    $"-UserNamespace '{text}' uses host {what} {hit.Start}-{hit.End - 1}, delegated to the '{SubordinateIds.User}' user for Auto containers: it would share ids with them. Use ids outside that range, or Auto.");
        }
    }
}
