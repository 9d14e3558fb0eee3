using System.Buffers.Binary;
using System.Text;

namespace PSContainer.Native.Netlink;

/// <summary>Numbers from linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h and linux/veth.h.</summary>
public static class Rt
{
    public const int AF_UNSPEC = 0, AF_INET = 2, AF_BRIDGE = 7, AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;

    public const ushort NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19,
        RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;

    public const ushort NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_DUMP = 0x300,
        NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    public const ushort NLA_F_NESTED = 0x8000;

    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10, IFLA_PROTINFO = 12,
        IFLA_LINKINFO = 18, IFLA_NET_NS_PID = 19, IFLA_IFALIAS = 20, IFLA_NET_NS_FD = 28;
    public const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, IFLA_INFO_SLAVE_DATA = 5;
    public const ushort VETH_INFO_PEER = 1;
    public const ushort IFLA_BRPORT_MODE = 4; // hairpin
    public const uint IFF_UP = 0x1;

    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;

    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_PREFSRC = 7, RTA_TABLE = 15;
    public const byte RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255;
    public const byte RTPROT_BOOT = 3, RTPROT_KERNEL = 2;
    public const byte RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253;
    public const byte RTN_UNICAST = 1, RTN_LOCAL = 2;

    public const int HeaderSize = 16, IfInfoSize = 16, IfAddrSize = 8, RtMsgSize = 12;
}

/// <summary>
/// Builds one netlink message: the 16-byte nlmsghdr, the family header (ifinfomsg, ifaddrmsg, rtmsg) and rtattr
/// attributes, nested ones included, each padded to 4 bytes as NLMSG_ALIGN/RTA_ALIGN require.
/// </summary>
public sealed class NetlinkMessageBuilder
{
    private byte[] buffer = new byte[256];
    private int length;

    public NetlinkMessageBuilder(ushort type, ushort flags)
    {
        Reserve(Rt.HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(6), flags);
        length = Rt.HeaderSize;
    }

    public ushort Type => BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(4));
    public ushort Flags => BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(6));

    private void Reserve(int extra)
    {
        if (length + extra + 4 <= buffer.Length) return;
        Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + extra + 64));
    }

    private static int Align(int n) => (n + 3) & ~3;

    /// <summary>struct ifinfomsg.</summary>
    public NetlinkMessageBuilder IfInfo(byte family = Rt.AF_UNSPEC, int index = 0, uint flags = 0, uint change = 0)
    {
        Span<byte> s = stackalloc byte[Rt.IfInfoSize];
        WriteIfInfo(s, family, index, flags, change);
        return Raw(s);
    }

    internal static void WriteIfInfo(Span<byte> s, byte family, int index, uint flags, uint change)
    {
        s.Clear();
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], change);
    }

    /// <summary>struct ifaddrmsg.</summary>
    public NetlinkMessageBuilder IfAddr(byte family, byte prefixLength, int index, byte scope = Rt.RT_SCOPE_UNIVERSE)
    {
        Span<byte> s = stackalloc byte[Rt.IfAddrSize];
        s.Clear();
        s[0] = family;
        s[1] = prefixLength;
        s[3] = scope;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        return Raw(s);
    }

    /// <summary>struct rtmsg.</summary>
    public NetlinkMessageBuilder RtMsg(byte family, byte dstLength = 0, byte table = Rt.RT_TABLE_MAIN, byte protocol = Rt.RTPROT_BOOT,
        byte scope = Rt.RT_SCOPE_UNIVERSE, byte type = Rt.RTN_UNICAST)
    {
        Span<byte> s = stackalloc byte[Rt.RtMsgSize];
        s.Clear();
        s[0] = family;
        s[1] = dstLength;
        s[4] = table;
        s[5] = protocol;
        s[6] = scope;
        s[7] = type;
        return Raw(s);
    }

    public NetlinkMessageBuilder Raw(ReadOnlySpan<byte> bytes)
    {
        Reserve(Align(bytes.Length));
        bytes.CopyTo(buffer.AsSpan(length));
        buffer.AsSpan(length + bytes.Length, Align(bytes.Length) - bytes.Length).Clear();
        length += Align(bytes.Length);
        return this;
    }

    public NetlinkMessageBuilder Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        int total = 4 + value.Length;
        Reserve(Align(total));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(length), (ushort)total);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(length + 2), type);
        value.CopyTo(buffer.AsSpan(length + 4));
        buffer.AsSpan(length + total, Align(total) - total).Clear();
        length += Align(total);
        return this;
    }

    /// <summary>A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND).</summary>
    public NetlinkMessageBuilder Attribute(ushort type, string value)
    {
        byte[] b = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, b);
        return Attribute(type, b);
    }

    public NetlinkMessageBuilder Attribute(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Attribute(type, b);
    }

    public NetlinkMessageBuilder Attribute(ushort type, byte value) => Attribute(type, [value]);

    /// <summary>Starts a nested attribute; returns its offset for <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type, bool flagNested = false)
    {
        Reserve(4);
        int start = length;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(length + 2), (ushort)(type | (flagNested ? Rt.NLA_F_NESTED : 0)));
        length += 4;
        return start;
    }

    public NetlinkMessageBuilder EndNested(int start)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(start), (ushort)(length - start));
        return this;
    }

    /// <summary>The finished message with its length and sequence number filled in.</summary>
    public byte[] ToArray(uint sequence = 0, uint portId = 0)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(0), (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(12), portId);
        return buffer.AsSpan(0, length).ToArray();
    }
}

/// <summary>One received netlink message: its type, flags, sequence and payload (everything after nlmsghdr).</summary>
public readonly record struct NetlinkMessage(ushort Type, ushort Flags, uint Sequence, byte[] Payload)
{
    /// <summary>Splits a datagram into its messages.</summary>
    public static List<NetlinkMessage> Split(ReadOnlySpan<byte> data)
    {
        var list = new List<NetlinkMessage>();
        while (data.Length >= Rt.HeaderSize)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
            if (len < Rt.HeaderSize || len > data.Length) throw new InvalidDataException($"netlink message length {len} is invalid ({data.Length} bytes left)");
            list.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(data[4..]),
                BinaryPrimitives.ReadUInt16LittleEndian(data[6..]),
                BinaryPrimitives.ReadUInt32LittleEndian(data[8..]),
                data[Rt.HeaderSize..len].ToArray()));
            int next = (len + 3) & ~3;
            data = next >= data.Length ? [] : data[next..];
        }
        return list;
    }

    /// <summary>For NLMSG_ERROR: the (positive) errno, 0 for an acknowledgement.</summary>
    public int Errno => Payload.Length >= 4 ? -BinaryPrimitives.ReadInt32LittleEndian(Payload) : 0;
}

/// <summary>Parsed rtattr attributes of a message or a nested attribute.</summary>
public sealed class NetlinkAttributes
{
    private readonly Dictionary<ushort, byte[]> values = new();

    public static NetlinkAttributes Parse(ReadOnlySpan<byte> data)
    {
        var a = new NetlinkAttributes();
        while (data.Length >= 4)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(data);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data[2..]) & 0x3fff);
            if (len < 4 || len > data.Length) break;
            a.values.TryAdd(type, data[4..len].ToArray());
            int next = (len + 3) & ~3;
            data = next >= data.Length ? [] : data[next..];
        }
        return a;
    }

    public bool Has(ushort type) => values.ContainsKey(type);
    public byte[]? Bytes(ushort type) => values.GetValueOrDefault(type);
    public string? String(ushort type) => values.TryGetValue(type, out var b) ? Encoding.UTF8.GetString(b).TrimEnd('\0') : null;
    public uint? UInt32(ushort type) => values.TryGetValue(type, out var b) && b.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(b) : null;
    public NetlinkAttributes? Nested(ushort type) => values.TryGetValue(type, out var b) ? Parse(b) : null;
    public IEnumerable<ushort> Types => values.Keys;
}
