namespace PSContainer.Native.Netlink;

public static partial class RouteNetlink
{
    /// <summary>
    /// The RTM_NEWLINK message that sets, by name, a bridge port's alias (our ownership mark) and hairpin mode (bridge
    /// port options as IFLA_INFO_SLAVE_DATA, as `ip link set NAME type bridge_slave hairpin on` sends them) and brings
    /// it up. None of it can be given when the link is made: the kernel applies the alias and port options only to an
    /// existing link.
    /// </summary>
    public static NetlinkMessageBuilder BridgePortMessage(string name, string alias, bool hairpin)
    {
        var m = new NetlinkMessageBuilder(Rt.RTM_NEWLINK, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK).IfInfo(Rt.AF_UNSPEC, 0, Rt.IFF_UP, Rt.IFF_UP)
            .Attribute(Rt.IFLA_IFNAME, name)
            .Attribute(Rt.IFLA_IFALIAS, alias);
        int info = m.BeginNested(Rt.IFLA_LINKINFO);
        int slave = m.BeginNested(Rt.IFLA_INFO_SLAVE_DATA);
        m.Attribute(Rt.IFLA_BRPORT_MODE, (byte)(hairpin ? 1 : 0));
        m.EndNested(slave);
        return m.EndNested(info);
    }

    /// <summary>
    /// Makes a container's veth pair in two batched requests (one round trip): the pair, bridged, with its
    /// peer in the namespace pinned at <paramref name="peerNetnsPath"/>; then the host end's alias and hairpin, and
    /// the host end up (the peer is brought up in its namespace, with its address).
    /// </summary>
    public static void CreateBridgedVeth(NetlinkSocket s, string name, string peerName, string peerNetnsPath, int master, string alias)
    {
        using var ns = File.OpenHandle(peerNetnsPath, FileMode.Open, FileAccess.Read);
        s.RequestAll([
            // Made down: the kernel would bring an end up before the two ends know each other (ENOTCONN).
            (VethMessage(name, peerName, (int)ns.DangerousGetHandle(), master), $"create veth {name}"),
            (BridgePortMessage(name, alias, hairpin: true), $"set alias and hairpin of {name}"),
        ]);
    }
}
