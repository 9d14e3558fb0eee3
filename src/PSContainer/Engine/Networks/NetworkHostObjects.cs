using PSContainer.Engine.Containers;
using PSContainer.Native;
using PSContainer.Native.Netlink;

namespace PSContainer.Engine.Networks;

/// <summary>A container's network namespace, by the path of the file that pins it: gone once unpinned.</summary>
public sealed class NetnsObjects : IHostObjectProvider
{
    public const string KindName = "netns";

    public string Kind => KindName;

    public bool Exists(string name) => File.Exists(name);

    public void Remove(string name) => NetworkNamespace.Delete(name);
}

/// <summary>
/// A container's veth pair, by the name of its host end. Deleting it here waits for the kernel (netdev unregister
/// waits for an RCU grace period), which is why a stopping container does not: unpinning its namespace has the kernel
/// destroy the pair in the background, and the entry is forgotten once the link is seen gone.
/// </summary>
public sealed class VethObjects : IHostObjectProvider
{
    public const string KindName = "veth";

    public string Kind => KindName;

    public bool Exists(string name)
    {
        using var s = NetlinkSocket.Open();
        return RouteNetlink.GetLink(s, name) is not null;
    }

    public void Remove(string name)
    {
        using var s = NetlinkSocket.Open();
        RouteNetlink.DeleteByName(s, name);
    }

    /// <summary>The names of the host's links (one dump): how a sweep of many entries checks them.</summary>
    public static HashSet<string> LinkNames()
    {
        using var s = NetlinkSocket.Open();
        return RouteNetlink.GetLinks(s).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>
/// An address a container held on a network, named "&lt;network id&gt; &lt;address&gt; &lt;veth&gt;". It exists as
/// long as that veth does: a namespace the kernel has not destroyed yet still answers ARP for the address, so a new
/// lease must not hand it out before (NetworkManager.Attach). It goes with its veth.
/// </summary>
public sealed class LeaseObjects : IHostObjectProvider
{
    public const string KindName = "lease";

    public string Kind => KindName;

    public static string NameOf(NetworkEndpoint e) => $"{e.NetworkId} {e.Address} {e.Veth}";

    public static (string NetworkId, string Address, string Veth) Parse(string name)
    {
        var parts = name.Split(' ');
        return parts.Length == 3 ? (parts[0], parts[1], parts[2]) : ("", "", "");
    }

    public bool Exists(string name) => Parse(name).Veth is { Length: > 0 } veth && new VethObjects().Exists(veth);

    public void Remove(string name)
    {
        if (Parse(name).Veth is { Length: > 0 } veth) new VethObjects().Remove(veth);
    }

    public static bool IsNetworkKind(string kind) => kind is NetnsObjects.KindName or VethObjects.KindName or KindName;

    /// <summary>Whether a network entry's object is still on the host, given the host's link names.</summary>
    public static bool Present(HostObject o, HashSet<string> links) => o.Kind switch
    {
        NetnsObjects.KindName => File.Exists(o.Name),
        VethObjects.KindName => links.Contains(o.Name),
        KindName => links.Contains(Parse(o.Name).Veth),
        _ => true,
    };
}
