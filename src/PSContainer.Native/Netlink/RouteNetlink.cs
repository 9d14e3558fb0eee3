using System.Buffers.Binary;

namespace PSContainer.Native.Netlink;

/// <summary>A network interface as RTM_GETLINK reports it.</summary>
public sealed record LinkInfo(int Index, string Name, string? Kind, int Master, uint Flags, string? Alias = null)
{
    public bool IsUp => (Flags & Rt.IFF_UP) != 0;
}

/// <summary>An IPv4 route (addresses in host byte order: 10.0.0.1 is 0x0A000001).</summary>
public sealed record RouteInfo(uint Destination, int PrefixLength, byte Table, byte Type, int OutputIndex, uint? Gateway);

/// <summary>An IPv4 address on an interface (host byte order).</summary>
public sealed record AddressInfo(int Index, uint Address, int PrefixLength);

/// <summary>
/// rtnetlink operations on links, addresses and routes: what `ip link/addr/route` do, over a <see cref="NetlinkSocket"/>
/// (which fixes the network namespace they act in).
/// </summary>
public static partial class RouteNetlink
{
    private const int ENODEV = 19;

    private static byte[] Be(uint address)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, address);
        return b;
    }

    public static NetlinkMessageBuilder NewLinkMessage(ushort flags = Rt.NLM_F_REQUEST | Rt.NLM_F_ACK | Rt.NLM_F_CREATE | Rt.NLM_F_EXCL) =>
        new(Rt.RTM_NEWLINK, flags);

    /// <summary>The RTM_NEWLINK message for a bridge.</summary>
    public static NetlinkMessageBuilder BridgeMessage(string name)
    {
        var m = NewLinkMessage().IfInfo().Attribute(Rt.IFLA_IFNAME, name);
        int info = m.BeginNested(Rt.IFLA_LINKINFO);
        m.Attribute(Rt.IFLA_INFO_KIND, "bridge");
        return m.EndNested(info);
    }

    /// <summary>
    /// The RTM_NEWLINK message for a veth pair: <paramref name="name"/> here, <paramref name="peerName"/> as its peer,
    /// made directly in the namespace <paramref name="peerNetnsFd"/> refers to when given.
    /// </summary>
    public static NetlinkMessageBuilder VethMessage(string name, string peerName, int? peerNetnsFd, int? master = null)
    {
        var m = NewLinkMessage().IfInfo().Attribute(Rt.IFLA_IFNAME, name);
        if (master is int ms) m.Attribute(Rt.IFLA_MASTER, (uint)ms);
        int info = m.BeginNested(Rt.IFLA_LINKINFO);
        m.Attribute(Rt.IFLA_INFO_KIND, "veth");
        int data = m.BeginNested(Rt.IFLA_INFO_DATA);
        int peer = m.BeginNested(Rt.VETH_INFO_PEER);
        Span<byte> ifi = stackalloc byte[Rt.IfInfoSize];
        NetlinkMessageBuilder.WriteIfInfo(ifi, Rt.AF_UNSPEC, 0, 0, 0);
        m.Raw(ifi);
        m.Attribute(Rt.IFLA_IFNAME, peerName);
        if (peerNetnsFd is int fd) m.Attribute(Rt.IFLA_NET_NS_FD, (uint)fd);
        m.EndNested(peer);
        m.EndNested(data);
        return m.EndNested(info);
    }

    public static void CreateBridge(NetlinkSocket s, string name) => s.Request(BridgeMessage(name), $"create bridge {name}");

    public static void CreateVeth(NetlinkSocket s, string name, string peerName, string? peerNetnsPath = null, int? master = null)
    {
        if (peerNetnsPath is null)
        {
            s.Request(VethMessage(name, peerName, null, master), $"create veth {name}");
            return;
        }
        using var ns = File.OpenHandle(peerNetnsPath, FileMode.Open, FileAccess.Read);
        s.Request(VethMessage(name, peerName, (int)ns.DangerousGetHandle(), master), $"create veth {name}");
    }

    private static NetlinkMessageBuilder SetLink(int index, byte family = Rt.AF_UNSPEC, uint flags = 0, uint change = 0) =>
        new NetlinkMessageBuilder(Rt.RTM_NEWLINK, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK).IfInfo(family, index, flags, change);

    public static NetlinkMessageBuilder UpMessage(int index) => SetLink(index, flags: Rt.IFF_UP, change: Rt.IFF_UP);

    public static void SetUp(NetlinkSocket s, int index) => s.Request(UpMessage(index), $"set link {index} up");

    public static void SetDown(NetlinkSocket s, int index) => s.Request(SetLink(index, flags: 0, change: Rt.IFF_UP), $"set link {index} down");

    public static void SetMaster(NetlinkSocket s, int index, int master) =>
        s.Request(SetLink(index).Attribute(Rt.IFLA_MASTER, (uint)master), $"set master of link {index}");

    public static NetlinkMessageBuilder RenameMessage(int index, string newName) => SetLink(index).Attribute(Rt.IFLA_IFNAME, newName);

    public static void Rename(NetlinkSocket s, int index, string newName) => s.Request(RenameMessage(index, newName), $"rename link {index} to {newName}");

    /// <summary>Sets a link's alias (ifalias, shown by `ip link`): how we mark the links a state root owns.</summary>
    public static void SetAlias(NetlinkSocket s, int index, string alias) =>
        s.Request(SetLink(index).Attribute(Rt.IFLA_IFALIAS, alias), $"set alias of link {index}");

    public static NetlinkMessageBuilder MoveMessage(int index, int netnsFd) => SetLink(index).Attribute(Rt.IFLA_NET_NS_FD, (uint)netnsFd);

    /// <summary>Moves a link into the network namespace pinned at <paramref name="netnsPath"/>.</summary>
    public static void MoveToNamespace(NetlinkSocket s, int index, string netnsPath)
    {
        using var ns = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read);
        s.Request(MoveMessage(index, (int)ns.DangerousGetHandle()), $"move link {index} to {netnsPath}");
    }

    /// <summary>Sets a bridge port's hairpin mode (IFLA_PROTINFO/IFLA_BRPORT_MODE, as `bridge link set hairpin on`).</summary>
    public static void SetHairpin(NetlinkSocket s, int index, bool on)
    {
        var m = SetLink(index, Rt.AF_BRIDGE);
        int p = m.BeginNested(Rt.IFLA_PROTINFO, flagNested: true);
        m.Attribute(Rt.IFLA_BRPORT_MODE, (byte)(on ? 1 : 0));
        m.EndNested(p);
        s.Request(m, $"set hairpin on link {index}");
    }

    public static NetlinkMessageBuilder DeleteMessage(int index) =>
        new NetlinkMessageBuilder(Rt.RTM_DELLINK, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK).IfInfo(Rt.AF_UNSPEC, index);

    public static void Delete(NetlinkSocket s, int index) => s.Request(DeleteMessage(index), $"delete link {index}");

    /// <summary>Deletes a link by name; returns false if there is none (deleting one end of a veth removes both).</summary>
    public static bool DeleteByName(NetlinkSocket s, string name)
    {
        var link = GetLink(s, name);
        if (link is null) return false;
        try
        {
            Delete(s, link.Index);
        }
        catch (NetlinkException e) when (e.Errno == ENODEV)
        {
            return false;
        }
        return true;
    }

    public static NetlinkMessageBuilder AddressMessage(int index, uint address, int prefixLength)
    {
        var m = new NetlinkMessageBuilder(Rt.RTM_NEWADDR, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK | Rt.NLM_F_CREATE | Rt.NLM_F_EXCL)
            .IfAddr(Rt.AF_INET, (byte)prefixLength, index)
            .Attribute(Rt.IFA_LOCAL, Be(address))
            .Attribute(Rt.IFA_ADDRESS, Be(address));
        if (prefixLength < 31)
        {
            uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
            m.Attribute(Rt.IFA_BROADCAST, Be((address & mask) | ~mask));
        }
        return m;
    }

    public static void AddAddress(NetlinkSocket s, int index, uint address, int prefixLength) =>
        s.Request(AddressMessage(index, address, prefixLength), $"add address to link {index}");

    public static NetlinkMessageBuilder DefaultRouteMessage(uint gateway) =>
        new NetlinkMessageBuilder(Rt.RTM_NEWROUTE, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK | Rt.NLM_F_CREATE | Rt.NLM_F_EXCL)
            .RtMsg(Rt.AF_INET, 0)
            .Attribute(Rt.RTA_GATEWAY, Be(gateway));

    public static void AddDefaultRoute(NetlinkSocket s, uint gateway) => s.Request(DefaultRouteMessage(gateway), "add default route");

    public static LinkInfo? GetLink(NetlinkSocket s, string name)
    {
        try
        {
            var reply = s.Get(new NetlinkMessageBuilder(Rt.RTM_GETLINK, Rt.NLM_F_REQUEST).IfInfo().Attribute(Rt.IFLA_IFNAME, name), $"get link {name}");
            return reply.Type == Rt.RTM_NEWLINK ? ParseLink(reply) : null;
        }
        catch (NetlinkException e) when (e.Errno == ENODEV)
        {
            return null;
        }
    }

    public static List<LinkInfo> GetLinks(NetlinkSocket s) =>
        s.Dump(new NetlinkMessageBuilder(Rt.RTM_GETLINK, Rt.NLM_F_REQUEST | Rt.NLM_F_DUMP).IfInfo(), "dump links")
            .Where(m => m.Type == Rt.RTM_NEWLINK).Select(ParseLink).ToList();

    public static LinkInfo ParseLink(NetlinkMessage m)
    {
        var p = m.Payload;
        int index = BinaryPrimitives.ReadInt32LittleEndian(p.AsSpan(4));
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(8));
        var attrs = NetlinkAttributes.Parse(p.AsSpan(Rt.IfInfoSize));
        return new LinkInfo(index, attrs.String(Rt.IFLA_IFNAME) ?? "", attrs.Nested(Rt.IFLA_LINKINFO)?.String(Rt.IFLA_INFO_KIND),
            (int)(attrs.UInt32(Rt.IFLA_MASTER) ?? 0), flags, attrs.String(Rt.IFLA_IFALIAS));
    }

    /// <summary>Every IPv4 route of every table.</summary>
    public static List<RouteInfo> GetRoutes(NetlinkSocket s) =>
        s.Dump(new NetlinkMessageBuilder(Rt.RTM_GETROUTE, Rt.NLM_F_REQUEST | Rt.NLM_F_DUMP).RtMsg(Rt.AF_INET, table: 0, protocol: 0, type: 0), "dump routes")
            .Where(m => m.Type == Rt.RTM_NEWROUTE).Select(ParseRoute).ToList();

    public static RouteInfo ParseRoute(NetlinkMessage m)
    {
        var p = m.Payload;
        var attrs = NetlinkAttributes.Parse(p.AsSpan(Rt.RtMsgSize));
        uint dst = attrs.Bytes(Rt.RTA_DST) is { Length: 4 } d ? BinaryPrimitives.ReadUInt32BigEndian(d) : 0;
        uint? gw = attrs.Bytes(Rt.RTA_GATEWAY) is { Length: 4 } g ? BinaryPrimitives.ReadUInt32BigEndian(g) : null;
        byte table = attrs.UInt32(Rt.RTA_TABLE) is uint t ? (byte)Math.Min(t, 255) : p[4];
        return new RouteInfo(dst, p[1], table, p[7], (int)(attrs.UInt32(Rt.RTA_OIF) ?? 0), gw);
    }

    public static List<AddressInfo> GetAddresses(NetlinkSocket s) =>
        s.Dump(new NetlinkMessageBuilder(Rt.RTM_GETADDR, Rt.NLM_F_REQUEST | Rt.NLM_F_DUMP).IfAddr(Rt.AF_INET, 0, 0), "dump addresses")
            .Where(m => m.Type == Rt.RTM_NEWADDR)
            .Select(m =>
            {
                var attrs = NetlinkAttributes.Parse(m.Payload.AsSpan(Rt.IfAddrSize));
                uint a = (attrs.Bytes(Rt.IFA_LOCAL) ?? attrs.Bytes(Rt.IFA_ADDRESS)) is { Length: 4 } b ? BinaryPrimitives.ReadUInt32BigEndian(b) : 0;
                return new AddressInfo(BinaryPrimitives.ReadInt32LittleEndian(m.Payload.AsSpan(4)), a, m.Payload[1]);
            }).ToList();
}
