using System.Buffers.Binary;
using PSContainer.Native;
using PSContainer.Native.Netlink;
using Xunit;

namespace PSContainer.Tests;

public class NetworkNetlinkEncodingTests
{
    [Fact]
    public void Header_and_attributes_are_aligned()
    {
        byte[] m = new NetlinkMessageBuilder(Rt.RTM_NEWLINK, Rt.NLM_F_REQUEST | Rt.NLM_F_ACK).IfInfo(index: 7).Attribute(Rt.IFLA_IFNAME, "eth0").ToArray(42);
        Assert.Equal(16 + 16 + 12, m.Length); // "eth0\0" = 5 bytes + 4 header = 9, padded to 12
        Assert.Equal((uint)m.Length, BinaryPrimitives.ReadUInt32LittleEndian(m));
        Assert.Equal(Rt.RTM_NEWLINK, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(4)));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(8)));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan(16 + 4)));
        Assert.Equal(9, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(32)));
        Assert.Equal(Rt.IFLA_IFNAME, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(34)));
        Assert.Equal("eth0", System.Text.Encoding.ASCII.GetString(m, 36, 4));
        Assert.Equal(0, m[40]);
        Assert.All(m[41..44], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Veth_message_nests_the_peer_with_its_namespace()
    {
        byte[] m = RouteNetlink.VethMessage("pscvabc", "eth0", 9, master: 3).ToArray();
        Assert.Equal(Rt.NLM_F_REQUEST | Rt.NLM_F_ACK | Rt.NLM_F_CREATE | Rt.NLM_F_EXCL, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(6)));
        var attrs = NetlinkAttributes.Parse(m.AsSpan(32));
        Assert.Equal("pscvabc", attrs.String(Rt.IFLA_IFNAME));
        Assert.Equal(3u, attrs.UInt32(Rt.IFLA_MASTER));
        var info = attrs.Nested(Rt.IFLA_LINKINFO)!;
        Assert.Equal("veth", info.String(Rt.IFLA_INFO_KIND));
        byte[] peer = info.Nested(Rt.IFLA_INFO_DATA)!.Bytes(Rt.VETH_INFO_PEER)!;
        var peerAttrs = NetlinkAttributes.Parse(peer.AsSpan(Rt.IfInfoSize));
        Assert.Equal("eth0", peerAttrs.String(Rt.IFLA_IFNAME));
        Assert.Equal(9u, peerAttrs.UInt32(Rt.IFLA_NET_NS_FD));
        // The nested lengths add up to the message.
        Assert.Equal(m.Length, 32 + attrs.Types.Sum(t => ((attrs.Bytes(t)!.Length + 4) + 3) & ~3));
    }

    [Fact]
    public void Address_and_route_messages()
    {
        byte[] a = RouteNetlink.AddressMessage(5, 0x0A580002, 16).ToArray();
        Assert.Equal(Rt.AF_INET, a[16]);
        Assert.Equal(16, a[17]);
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(a.AsSpan(20)));
        var attrs = NetlinkAttributes.Parse(a.AsSpan(24));
        Assert.Equal(new byte[] { 10, 88, 0, 2 }, attrs.Bytes(Rt.IFA_LOCAL));
        Assert.Equal(new byte[] { 10, 88, 255, 255 }, attrs.Bytes(Rt.IFA_BROADCAST));

        byte[] r = RouteNetlink.DefaultRouteMessage(0x0A580001).ToArray();
        Assert.Equal(0, r[17]); // dst_len 0: default
        Assert.Equal(Rt.RT_TABLE_MAIN, r[20]);
        Assert.Equal(new byte[] { 10, 88, 0, 1 }, NetlinkAttributes.Parse(r.AsSpan(28)).Bytes(Rt.RTA_GATEWAY));
    }

    [Fact]
    public void Splits_datagrams_and_reads_errors()
    {
        var one = new byte[36];
        BinaryPrimitives.WriteUInt32LittleEndian(one, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(one.AsSpan(4), Rt.NLMSG_ERROR);
        BinaryPrimitives.WriteUInt32LittleEndian(one.AsSpan(8), 5);
        BinaryPrimitives.WriteInt32LittleEndian(one.AsSpan(16), -17);
        var two = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(two, 16);
        BinaryPrimitives.WriteUInt16LittleEndian(two.AsSpan(4), Rt.NLMSG_DONE);
        var list = NetlinkMessage.Split([.. one, .. two]);
        Assert.Equal(2, list.Count);
        Assert.Equal(17, list[0].Errno);
        Assert.Equal(5u, list[0].Sequence);
        Assert.Equal(Rt.NLMSG_DONE, list[1].Type);
        Assert.Throws<InvalidDataException>(() => NetlinkMessage.Split(new byte[] { 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
    }
}

/// <summary>Real rtnetlink against private network namespaces (root only): nothing here touches the host's links.</summary>
public class NetworkNetlinkLiveTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly string nsA, nsB;
    private readonly bool root = Tmds.Linux.LibC.geteuid() == 0;

    public NetworkNetlinkLiveTests()
    {
        nsA = dir.Combine("a");
        nsB = dir.Combine("b");
        // Tests skip (below) without root; the constructor just makes nothing then.
        if (!root) return;
        NetworkNamespace.Create(nsA);
        NetworkNamespace.Create(nsB);
    }

    public void Dispose()
    {
        if (root)
        {
            NetworkNamespace.Delete(nsA);
            NetworkNamespace.Delete(nsB);
        }
        dir.Dispose();
    }

    [SkippableFact]
    public void Builds_a_bridge_and_a_veth_into_another_namespace()
    {
        Skip.IfNot(root, "needs root: the test makes network namespaces, links and addresses");
        using var a = NetlinkSocket.OpenIn(nsA);
        using var b = NetlinkSocket.OpenIn(nsB);
        Assert.Equal(["lo"], RouteNetlink.GetLinks(a).Select(l => l.Name));
        Assert.True(RouteNetlink.GetLink(a, "lo")!.IsUp);

        RouteNetlink.CreateBridge(a, "pscunitbr");
        var br = RouteNetlink.GetLink(a, "pscunitbr")!;
        Assert.Equal("bridge", br.Kind);
        RouteNetlink.SetAlias(a, br.Index, "pscontainer:unit");
        Assert.Equal("pscontainer:unit", RouteNetlink.GetLink(a, "pscunitbr")!.Alias);
        var dup = Assert.Throws<NetlinkException>(() => RouteNetlink.CreateBridge(a, "pscunitbr"));
        Assert.Equal(Errors.EEXIST, dup.Errno);
        RouteNetlink.AddAddress(a, br.Index, 0x0A630001, 24);
        RouteNetlink.SetUp(a, br.Index);
        Assert.Contains(RouteNetlink.GetAddresses(a), x => x.Index == br.Index && x.Address == 0x0A630001 && x.PrefixLength == 24);

        // The peer is made directly in namespace B (IFLA_NET_NS_FD in VETH_INFO_PEER).
        RouteNetlink.CreateVeth(a, "pscvunit0", "eth0", nsB, br.Index);
        var host = RouteNetlink.GetLink(a, "pscvunit0")!;
        Assert.Equal("veth", host.Kind);
        Assert.Equal(br.Index, host.Master);
        Assert.Null(RouteNetlink.GetLink(a, "eth0"));
        RouteNetlink.SetHairpin(a, host.Index, true);
        RouteNetlink.SetUp(a, host.Index);

        var eth0 = RouteNetlink.GetLink(b, "eth0")!;
        RouteNetlink.AddAddress(b, eth0.Index, 0x0A630002, 24);
        RouteNetlink.SetUp(b, eth0.Index);
        RouteNetlink.AddDefaultRoute(b, 0x0A630001);
        var routes = RouteNetlink.GetRoutes(b).Where(r => r.Table == Rt.RT_TABLE_MAIN).ToList();
        Assert.Contains(routes, r => r.PrefixLength == 0 && r.Gateway == 0x0A630001);
        Assert.Contains(routes, r => r.PrefixLength == 24 && r.Destination == 0x0A630000);
        Assert.Equal(Errors.EEXIST, Assert.Throws<NetlinkException>(() => RouteNetlink.AddDefaultRoute(b, 0x0A630001)).Errno);

        Assert.True(RouteNetlink.DeleteByName(a, "pscvunit0"));
        Assert.Null(RouteNetlink.GetLink(b, "eth0")); // one end gone, both gone
        Assert.False(RouteNetlink.DeleteByName(a, "pscvunit0"));
        Assert.True(RouteNetlink.DeleteByName(a, "pscunitbr"));
        Assert.Equal(["lo"], RouteNetlink.GetLinks(a).Select(l => l.Name));
    }

    [SkippableFact]
    public void Makes_a_bridged_veth_and_configures_its_peer_in_batched_round_trips()
    {
        Skip.IfNot(root, "needs root: the test makes network namespaces, links and addresses");
        using var a = NetlinkSocket.OpenIn(nsA);
        using var b = NetlinkSocket.OpenIn(nsB);
        RouteNetlink.CreateBridge(a, "pscbatchbr");
        var br = RouteNetlink.GetLink(a, "pscbatchbr")!;

        // One write: the pair (bridged, peer in namespace B), then alias, hairpin and up of the host end by name.
        RouteNetlink.CreateBridgedVeth(a, "pscvbatch0", "eth0", nsB, br.Index, "pscontainer:batch");
        var host = RouteNetlink.GetLink(a, "pscvbatch0")!;
        Assert.Equal(br.Index, host.Master);
        Assert.Equal("pscontainer:batch", host.Alias);
        Assert.True(host.IsUp);

        var eth0 = RouteNetlink.GetLink(b, "eth0")!;
        Assert.False(eth0.IsUp);
        b.RequestAll([
            (RouteNetlink.UpMessage(eth0.Index), "up"),
            (RouteNetlink.AddressMessage(eth0.Index, 0x0A640002, 24), "address"),
            (RouteNetlink.DefaultRouteMessage(0x0A640001), "default route"),
        ]);
        Assert.True(RouteNetlink.GetLink(b, "eth0")!.IsUp);
        Assert.Contains(RouteNetlink.GetAddresses(b), x => x.Index == eth0.Index && x.Address == 0x0A640002 && x.PrefixLength == 24);
        Assert.Contains(RouteNetlink.GetRoutes(b), r => r.Table == Rt.RT_TABLE_MAIN && r.PrefixLength == 0 && r.Gateway == 0x0A640001);

        // A refused step is thrown with its own errno and name once every answer was read: the socket stays in step.
        var refused = Assert.Throws<NetlinkException>(() => b.RequestAll([
            (RouteNetlink.UpMessage(eth0.Index), "up again"),
            (RouteNetlink.DefaultRouteMessage(0x0A640001), "default route again"),
        ]));
        Assert.Equal(Errors.EEXIST, refused.Errno);
        Assert.Equal("default route again", refused.Operation);
        Assert.NotNull(RouteNetlink.GetLink(b, "eth0"));

        Assert.True(RouteNetlink.DeleteByName(a, "pscvbatch0"));
        Assert.True(RouteNetlink.DeleteByName(a, "pscbatchbr"));
        Assert.Equal(["lo"], RouteNetlink.GetLinks(b).Select(l => l.Name));
    }

    [SkippableFact]
    public void Moves_and_renames_a_link()
    {
        Skip.IfNot(root, "needs root: the test makes network namespaces, links and addresses");
        using var a = NetlinkSocket.OpenIn(nsA);
        using var b = NetlinkSocket.OpenIn(nsB);
        RouteNetlink.CreateVeth(a, "pscvmove0", "pscvmove1");
        var peer = RouteNetlink.GetLink(a, "pscvmove1")!;
        RouteNetlink.MoveToNamespace(a, peer.Index, nsB);
        Assert.Null(RouteNetlink.GetLink(a, "pscvmove1"));
        var moved = RouteNetlink.GetLink(b, "pscvmove1")!;
        RouteNetlink.Rename(b, moved.Index, "eth3");
        Assert.NotNull(RouteNetlink.GetLink(b, "eth3"));
        Assert.Throws<NetlinkException>(() => RouteNetlink.Rename(b, RouteNetlink.GetLink(b, "eth3")!.Index, "a-name-much-too-long-for-linux"));
        RouteNetlink.DeleteByName(a, "pscvmove0");
        Assert.Null(RouteNetlink.GetLink(b, "eth3"));
    }

    [SkippableFact]
    public void Many_sockets_and_namespaces_do_not_leak_or_confuse()
    {
        Skip.IfNot(root, "needs root: the test makes network namespaces, links and addresses");
        for (int i = 0; i < 50; i++)
        {
            using var a = NetlinkSocket.OpenIn(nsA);
            RouteNetlink.CreateBridge(a, "pscstress" + i % 3);
            RouteNetlink.DeleteByName(a, "pscstress" + i % 3);
        }
        using var host = NetlinkSocket.Open();
        Assert.DoesNotContain(RouteNetlink.GetLinks(host), l => l.Name.StartsWith("pscstress", StringComparison.Ordinal));
        // The calling thread stays in the host namespace.
        string mine = new FileInfo("/proc/thread-self/ns/net").LinkTarget!;
        Assert.Equal(new FileInfo($"/proc/{Environment.ProcessId}/ns/net").LinkTarget, mine);
    }

    [Fact]
    public void Missing_namespace_is_a_clear_error()
    {
        Assert.ThrowsAny<IOException>(() => NetlinkSocket.OpenIn(dir.Combine("nope")));
    }
}
