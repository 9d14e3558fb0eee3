using PSContainer.Engine;
using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

public class NetworkSubnetTests
{
    [Theory]
    [InlineData("10.88.0.0/16", 0x0A580000u, 16)]
    [InlineData("192.168.1.0/24", 0xC0A80100u, 24)]
    [InlineData("10.0.0.0/30", 0x0A000000u, 30)]
    public void Parses_cidr(string text, uint network, int prefix)
    {
        var s = Subnet.Parse(text);
        Assert.Equal(network, s.Network);
        Assert.Equal(prefix, s.PrefixLength);
        Assert.Equal(text, s.ToString());
    }

    [Theory]
    [InlineData("10.88.0.1/16")]   // host bits
    [InlineData("10.88.0.0")]      // no prefix
    [InlineData("10.88.0.0/33")]
    [InlineData("10.88/16")]
    [InlineData("nonsense")]
    [InlineData("10.0.0.0/31")]    // too small for a gateway and a container
    [InlineData("::1/64")]
    public void Rejects_bad_subnets(string text)
    {
        var e = Assert.Throws<EngineException>(() => Subnet.Parse(text));
        Assert.Equal("InvalidSubnet", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("10.88.0.0/16", "10.88.5.0/24", true)]
    [InlineData("10.88.5.0/24", "10.88.0.0/16", true)]
    [InlineData("10.88.0.0/16", "10.89.0.0/16", false)]
    [InlineData("10.0.0.0/8", "10.255.255.252/30", true)]
    [InlineData("192.168.0.0/24", "192.168.1.0/24", false)]
    [InlineData("0.0.0.0/0", "1.2.3.0/24", true)]
    public void Overlap(string a, string b, bool overlaps)
    {
        var x = new Subnet(Ipv4.Parse(a.Split('/')[0], "t"), int.Parse(a.Split('/')[1]));
        var y = new Subnet(Ipv4.Parse(b.Split('/')[0], "t"), int.Parse(b.Split('/')[1]));
        Assert.Equal(overlaps, x.Overlaps(y));
        Assert.Equal(overlaps, y.Overlaps(x));
    }

    [Fact]
    public void Host_range_excludes_network_and_broadcast()
    {
        var s = Subnet.Parse("10.1.2.0/30");
        Assert.Equal("10.1.2.1", Ipv4.Format(s.FirstHost));
        Assert.Equal("10.1.2.2", Ipv4.Format(s.LastHost));
        Assert.Equal("10.1.2.3", Ipv4.Format(s.Broadcast));
        Assert.True(s.Contains(Ipv4.Parse("10.1.2.3", "t")));
        Assert.False(s.Contains(Ipv4.Parse("10.1.2.4", "t")));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("10.1")]
    [InlineData("256.1.1.1")]
    [InlineData("1.2.3.4.5")]
    public void Ipv4_needs_a_dotted_quad(string text) => Assert.False(Ipv4.TryParse(text, out _));
}

public class PortRequestTests
{
    [Theory]
    [InlineData("80", "0.0.0.0", 0, 80, "tcp")]
    [InlineData("8080:80", "0.0.0.0", 8080, 80, "tcp")]
    [InlineData("127.0.0.1:8080:80", "127.0.0.1", 8080, 80, "tcp")]
    [InlineData("127.0.0.1::80", "127.0.0.1", 0, 80, "tcp")]
    [InlineData("53:53/udp", "0.0.0.0", 53, 53, "udp")]
    [InlineData("5353/UDP", "0.0.0.0", 0, 5353, "udp")]
    [InlineData("443/tcp", "0.0.0.0", 0, 443, "tcp")]
    public void Parses_docker_forms(string spec, string ip, int hostPort, int containerPort, string protocol)
    {
        var r = PortRequest.Parse(spec);
        Assert.Equal(new PortRequest(ip, hostPort, containerPort, protocol), r);
    }

    [Theory]
    [InlineData("")]
    [InlineData("80/sctp")]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("a:b")]
    [InlineData("1.2.3:80:80")]
    [InlineData("1:2:3:4")]
    [InlineData("8080:")]
    public void Rejects_bad_specs(string spec)
    {
        var e = Assert.Throws<EngineException>(() => PortRequest.Parse(spec));
        Assert.Equal("InvalidPublish", e.ErrorId);
    }

    [Fact]
    public void Mapping_prints_like_docker_ps() =>
        Assert.Equal("0.0.0.0:8080->80/tcp", new PortMapping("0.0.0.0", 8080, 80, "tcp").ToString());
}

public class FirewallRulesetTests
{
    [Fact]
    public void No_networks_only_deletes_the_table()
    {
        string r = Firewall.Generate("pscontainer", [], []);
        Assert.Equal("table inet pscontainer\ndelete table inet pscontainer\n", r);
    }

    [Fact]
    public void Publishes_masquerades_and_isolates()
    {
        var nets = new[] { new FirewallNetwork("psc0", "10.88.0.0/16", false), new FirewallNetwork("psc12345678", "10.89.0.0/24", false) };
        var ports = new[]
        {
            new FirewallPort("0.0.0.0", 8080, "tcp", "10.88.0.2", 80),
            new FirewallPort("127.0.0.1", 5353, "udp", "10.89.0.3", 53),
        };
        string r = Firewall.Generate("pscontainer", nets, ports);
        Assert.StartsWith("table inet pscontainer\ndelete table inet pscontainer\ntable inet pscontainer {\n", r);
        Assert.Contains("\t\ttcp dport 8080 dnat ip to 10.88.0.2:80\n", r);
        Assert.Contains("\t\tip daddr 127.0.0.1 udp dport 5353 dnat ip to 10.89.0.3:53\n", r);
        Assert.Contains("type nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump published", r);
        Assert.Contains("type nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump published", r);
        Assert.Contains("oifname \"psc0\" ip saddr 127.0.0.0/8 masquerade", r);
        Assert.Contains("oifname \"psc0\" ct status dnat ip saddr 10.88.0.0/16 masquerade", r);
        Assert.Contains("ip saddr 10.89.0.0/24 oifname != \"psc12345678\" masquerade", r);
        Assert.Contains("iifname \"psc0\" oifname { \"psc12345678\" } drop", r);
        Assert.Contains("iifname \"psc12345678\" oifname { \"psc0\" } drop", r);
        // Published ports cross networks: accepted before the isolation drops.
        Assert.True(r.IndexOf("ct status dnat accept", StringComparison.Ordinal) < r.IndexOf("oifname { ", StringComparison.Ordinal));
        Assert.Equal(r.Count(c => c == '{'), r.Count(c => c == '}'));
    }

    [Fact]
    public void Drops_packets_for_the_host_loopback_that_arrive_on_a_bridge()
    {
        // CVE-2020-8558: KUBE-FIREWALL's match scoped to each bridge, in a prerouting chain after conntrack
        // (priority -200) and before the DNAT of ports published on 127.0.0.1 (dstnat, -100).
        var nets = new[] { new FirewallNetwork("psc0", "10.88.0.0/16", false), new FirewallNetwork("pscabcdef01", "10.90.0.0/24", true) };
        string r = Firewall.Generate("pscontainer", nets, [new FirewallPort("127.0.0.1", 8080, "tcp", "10.88.0.2", 80)]);
        Assert.Contains(
            "\tchain loopback {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n" +
            "\t\tiifname \"psc0\" ip daddr 127.0.0.0/8 ct state != { established, related } drop\n" +
            "\t\tiifname \"pscabcdef01\" ip daddr 127.0.0.0/8 ct state != { established, related } drop\n\t}\n", r);
        // nothing unscoped: lo and the host's other interfaces keep their 127.0.0.0/8 traffic
        Assert.DoesNotContain(r.Split('\n'), l => l.Contains("127.0.0.0/8", StringComparison.Ordinal) && l.TrimEnd().EndsWith("drop", StringComparison.Ordinal) && !l.Contains("iifname \"psc", StringComparison.Ordinal));
    }

    [Fact]
    public void Internal_networks_get_no_masquerade_and_no_way_out()
    {
        var nets = new[] { new FirewallNetwork("pscabcdef01", "10.90.0.0/24", true) };
        string r = Firewall.Generate("t", nets, []);
        Assert.DoesNotContain("ip saddr 10.90.0.0/24 oifname != \"pscabcdef01\" masquerade", r);
        Assert.Contains("iifname \"pscabcdef01\" oifname != \"pscabcdef01\" drop", r);
        Assert.Contains("oifname \"pscabcdef01\" iifname != \"pscabcdef01\" drop", r);
        Assert.True(r.IndexOf("oifname != \"pscabcdef01\" drop", StringComparison.Ordinal) < r.IndexOf("ct status dnat accept", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Nft_accepts_the_ruleset_in_check_mode()
    {
        Skip.If(Firewall.NftBinary is null, "nft is not installed (Debian package nftables)");
        Skip.If(Environment.UserName != "root", "nft -c needs root");
        var nets = new[] { new FirewallNetwork("psc0", "10.88.0.0/16", false), new FirewallNetwork("pscabcdef01", "10.90.0.0/24", true) };
        string r = Firewall.Generate("psc_unit_check", nets, [new FirewallPort("0.0.0.0", 8080, "tcp", "10.88.0.2", 80)]);
        var psi = new System.Diagnostics.ProcessStartInfo(Firewall.NftBinary, "-c -f -") { RedirectStandardInput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Write(r);
        p.StandardInput.Close();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }
}

public class NetworkRecordsTests
{
    [Fact]
    public void Records_list_running_containers_with_aliases_and_short_id()
    {
        string id = new string('a', 64);
        var text = NetworkManager.Records([
            new NetworkEndpoint("n", "net", id, "10.89.0.2", ["www"], "pscv1", "eth0", 0, true, "web"),
            new NetworkEndpoint("n", "net", new string('b', 64), "10.89.0.3", [], "pscv2", "eth0", 0, false, "stopped"),
        ]);
        Assert.Equal($"10.89.0.2\tweb www {id[..12]}\n", text);
    }
}
