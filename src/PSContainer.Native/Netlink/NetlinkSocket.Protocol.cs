using System.Buffers.Binary;

namespace PSContainer.Native.Netlink;

public sealed unsafe partial class NetlinkSocket
{
    /// <summary>A socket of another netlink family (NETLINK_NETFILTER for nftables) in this thread's namespace.</summary>
    public static NetlinkSocket Open(int protocol)
    {
        int s = socket(Rt.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (s < 0) throw new NativeException("socket(AF_NETLINK)", null, Errors.Last);
        byte* addr = stackalloc byte[12];
        new Span<byte>(addr, 12).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(addr, 2), Rt.AF_NETLINK);
        if (bind(s, addr, 12) != 0)
        {
            int e = Errors.Last;
            close(s);
            throw new NativeException("bind(AF_NETLINK)", null, e);
        }
        return new NetlinkSocket(s);
    }
}

/// <summary>
/// What the engine asks nftables directly over netlink instead of running `iptables`/`nft` for it (a process per
/// container start otherwise).
/// </summary>
public static class NftablesNetlink
{
    private const int NETLINK_NETFILTER = 12;
    private const ushort NFT_MSG_GETCHAIN = (10 << 8) | 4; // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETCHAIN
    private const ushort NFTA_CHAIN_TABLE = 1, NFTA_CHAIN_NAME = 3, NFTA_CHAIN_POLICY = 5;
    private const int ENOENT = 2;
    public const byte NFPROTO_IPV4 = 2;

    /// <summary>
    /// Whether base chain <paramref name="chain"/> of table <paramref name="table"/> (family
    /// <paramref name="family"/>) has the policy drop; false when it accepts, has no policy or does not exist. This is
    /// where iptables-nft keeps `iptables -P FORWARD DROP` (table ip filter, chain FORWARD).
    /// </summary>
    public static bool ChainPolicyDrops(byte family, string table, string chain)
    {
        using var s = NetlinkSocket.Open(NETLINK_NETFILTER);
        var request = new NetlinkMessageBuilder(NFT_MSG_GETCHAIN, Rt.NLM_F_REQUEST)
            .Raw([family, 0, 0, 0]) // struct nfgenmsg: family, version NFNETLINK_V0, res_id 0
            .Attribute(NFTA_CHAIN_TABLE, table)
            .Attribute(NFTA_CHAIN_NAME, chain);
        NetlinkMessage reply;
        try
        {
            reply = s.Get(request, $"get nftables chain {table} {chain}");
        }
        catch (NetlinkException e) when (e.Errno == ENOENT)
        {
            return false;
        }
        if (reply.Payload.Length < 4) return false;
        var attrs = NetlinkAttributes.Parse(reply.Payload.AsSpan(4));
        return attrs.Bytes(NFTA_CHAIN_POLICY) is { Length: 4 } policy && BinaryPrimitives.ReadUInt32BigEndian(policy) == 0; // NF_DROP
    }
}
