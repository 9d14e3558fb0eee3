using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

public class IptablesRulesetTests
{
    private static readonly FirewallNetwork[] Nets =
    [
        new("psc0", "10.88.0.0/16", false),
        new("psc12345678", "10.89.0.0/24", false),
        new("pscabcdef01", "10.90.0.0/24", true),
    ];

    private static readonly FirewallPort[] Ports =
    [
        new("0.0.0.0", 8080, "tcp", "10.88.0.2", 80),
        new("127.0.0.1", 5353, "udp", "10.89.0.3", 53),
    ];

    [Fact]
    public void Chains_are_named_for_the_table()
    {
        Assert.Equal("PSC-DNAT", IptablesFirewall.DnatChain("pscontainer"));
        Assert.Equal("PSC-1a2b3c4d-DNAT", IptablesFirewall.DnatChain("pscontainer_1a2b3c4d"));
        Assert.Equal("PSC-1a2b3c4d-POST", IptablesFirewall.PostChain("pscontainer_1a2b3c4d"));
        Assert.Equal("PSC-1a2b3c4d-FWD", IptablesFirewall.ForwardChain("pscontainer_1a2b3c4d"));
        Assert.Equal("PSC-1a2b3c4d-LO", IptablesFirewall.LoopbackChain("pscontainer_1a2b3c4d"));
        Assert.True(IptablesFirewall.DnatChain("pscontainer_" + new string('a', 40)).Length <= 28);
    }

    [Fact]
    public void Publishes_masquerades_and_isolates()
    {
        string r = IptablesFirewall.Generate("pscontainer_1a2b3c4d", Nets, Ports);
        string[] lines = r.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["*nat", ":PSC-1a2b3c4d-DNAT - [0:0]", ":PSC-1a2b3c4d-POST - [0:0]"], lines[..3]);
        Assert.Contains("-A PSC-1a2b3c4d-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80", lines);
        Assert.Contains("-A PSC-1a2b3c4d-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.89.0.3:53", lines);
        // jumps: inserted first, local destinations only for the DNAT chain, with our comment
        Assert.Contains("-I PREROUTING 1 -m addrtype --dst-type LOCAL -m comment --comment pscontainer:pscontainer_1a2b3c4d -j PSC-1a2b3c4d-DNAT", lines);
        Assert.Contains("-I OUTPUT 1 -m addrtype --dst-type LOCAL -m comment --comment pscontainer:pscontainer_1a2b3c4d -j PSC-1a2b3c4d-DNAT", lines);
        Assert.Contains("-I POSTROUTING 1 -m comment --comment pscontainer:pscontainer_1a2b3c4d -j PSC-1a2b3c4d-POST", lines);
        Assert.Contains("-I FORWARD 1 -m comment --comment pscontainer:pscontainer_1a2b3c4d -j PSC-1a2b3c4d-FWD", lines);
        // masquerade: 127.0.0.0/8 (route_localnet), DNATed hairpin, and the way out of non-internal networks
        Assert.Contains("-A PSC-1a2b3c4d-POST -s 127.0.0.0/8 -o psc0 -j MASQUERADE", lines);
        Assert.Contains("-A PSC-1a2b3c4d-POST -s 10.88.0.0/16 -o psc0 -m conntrack --ctstate DNAT -j MASQUERADE", lines);
        Assert.Contains("-A PSC-1a2b3c4d-POST -s 10.89.0.0/24 ! -o psc12345678 -j MASQUERADE", lines);
        Assert.DoesNotContain("-A PSC-1a2b3c4d-POST -s 10.90.0.0/24 ! -o pscabcdef01 -j MASQUERADE", lines);
        // forward: internal drops, then DNAT accepted, then isolation, then our bridges accepted
        int internalDrop = Array.IndexOf(lines, "-A PSC-1a2b3c4d-FWD -i pscabcdef01 ! -o pscabcdef01 -j DROP");
        int internalIn = Array.IndexOf(lines, "-A PSC-1a2b3c4d-FWD ! -i pscabcdef01 -o pscabcdef01 -j DROP");
        int dnat = Array.IndexOf(lines, "-A PSC-1a2b3c4d-FWD -o psc0 -m conntrack --ctstate DNAT -j ACCEPT");
        int isolate = Array.IndexOf(lines, "-A PSC-1a2b3c4d-FWD -i psc0 -o psc12345678 -j DROP");
        int accept = Array.IndexOf(lines, "-A PSC-1a2b3c4d-FWD -i psc0 -j ACCEPT");
        Assert.All(new[] { internalDrop, internalIn, dnat, isolate, accept }, i => Assert.True(i > 0));
        Assert.True(internalDrop < dnat && internalIn < dnat && dnat < isolate && isolate < accept);
        Assert.Contains("-A PSC-1a2b3c4d-FWD -i psc12345678 -o psc0 -j DROP", lines);
        Assert.Contains("-A PSC-1a2b3c4d-FWD -i pscabcdef01 -o psc0 -j DROP", lines);
        Assert.Contains("-A PSC-1a2b3c4d-FWD -i psc0 -o psc0 -j ACCEPT", lines);
        Assert.Contains("-A PSC-1a2b3c4d-FWD -o psc0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", lines);
        Assert.Equal(3, lines.Count(l => l == "COMMIT"));
        Assert.Equal("*filter", lines[Array.IndexOf(lines, "COMMIT") + 1]);
    }

    [Fact]
    public void Drops_packets_for_the_host_loopback_that_arrive_on_a_bridge()
    {
        // CVE-2020-8558: route_localnet=1 on every bridge lets a raw frame to 127.0.0.1 in; KUBE-FIREWALL's match,
        // scoped to each bridge, in mangle PREROUTING (after conntrack, before the DNAT of ports published on 127.0.0.1).
        string r = IptablesFirewall.Generate("pscontainer_1a2b3c4d", Nets, Ports);
        string mangle = r[r.IndexOf("*mangle\n", StringComparison.Ordinal)..];
        string[] lines = mangle.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([
            "*mangle",
            ":PSC-1a2b3c4d-LO - [0:0]",
            "-A PSC-1a2b3c4d-LO -d 127.0.0.0/8 -i psc0 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP",
            "-A PSC-1a2b3c4d-LO -d 127.0.0.0/8 -i psc12345678 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP",
            "-A PSC-1a2b3c4d-LO -d 127.0.0.0/8 -i pscabcdef01 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP",
            "-I PREROUTING 1 -m comment --comment pscontainer:pscontainer_1a2b3c4d -j PSC-1a2b3c4d-LO",
            "COMMIT",
        ], lines);
        // nothing unscoped: lo and the host's other interfaces keep their 127.0.0.0/8 traffic
        Assert.DoesNotContain(r.Split('\n'), l => l.Contains("127.0.0.0/8", StringComparison.Ordinal) && l.Contains("DROP", StringComparison.Ordinal) && !l.Contains(" -i psc", StringComparison.Ordinal));
    }

    [Fact]
    public void Removal_touches_the_mangle_table_only_when_our_chain_is_there()
    {
        string without = IptablesFirewall.Generate("pscontainer", [], [], new HashSet<string>());
        Assert.DoesNotContain("*mangle", without);
        var jump = IptablesFirewall.Jumps("pscontainer").Single(j => j.Table == "mangle");
        foreach (var present in new[] { new HashSet<string> { jump.Key, IptablesFirewall.LoopbackChainKey("pscontainer") }, new HashSet<string> { IptablesFirewall.LoopbackChainKey("pscontainer") } })
        {
            string r = IptablesFirewall.Generate("pscontainer", [], [], present);
            string mangle = r[r.IndexOf("*mangle\n", StringComparison.Ordinal)..];
            string expectJump = present.Contains(jump.Key) ? "-D PREROUTING -m comment --comment pscontainer:pscontainer -j PSC-LO\n" : "";
            Assert.Equal("*mangle\n:PSC-LO - [0:0]\n" + expectJump + "-X PSC-LO\nCOMMIT\n", mangle);
        }
    }

    [Fact]
    public void A_single_network_has_no_isolation_rules()
    {
        string r = IptablesFirewall.Generate("pscontainer", [new FirewallNetwork("psc0", "10.88.0.0/16", false)], []);
        Assert.DoesNotContain(r.Split('\n'), l => l.StartsWith("-A PSC-FWD ", StringComparison.Ordinal) && l.EndsWith("-j DROP", StringComparison.Ordinal));
        Assert.Contains("-A PSC-POST -s 10.88.0.0/16 ! -o psc0 -j MASQUERADE\n", r);
        Assert.DoesNotContain("-A PSC-DNAT ", r);
    }

    [Fact]
    public void Present_jumps_are_not_inserted_again()
    {
        var present = IptablesFirewall.Jumps("pscontainer").Select(j => j.Key).ToHashSet();
        string r = IptablesFirewall.Generate("pscontainer", Nets, Ports, present);
        Assert.DoesNotContain("-I ", r);
        Assert.DoesNotContain("-D ", r);
        Assert.Contains(":PSC-FWD - [0:0]\n", r); // the declaration flushes the chain before it is refilled
    }

    [Fact]
    public void No_networks_delete_jumps_and_chains()
    {
        var present = IptablesFirewall.Jumps("pscontainer").Where(j => j.Chain != "OUTPUT").Select(j => j.Key).ToHashSet();
        string r = IptablesFirewall.Generate("pscontainer", [], [], present);
        Assert.Equal(
            "*nat\n:PSC-DNAT - [0:0]\n:PSC-POST - [0:0]\n" +
            "-D PREROUTING -m addrtype --dst-type LOCAL -m comment --comment pscontainer:pscontainer -j PSC-DNAT\n" +
            "-D POSTROUTING -m comment --comment pscontainer:pscontainer -j PSC-POST\n" +
            "-X PSC-DNAT\n-X PSC-POST\nCOMMIT\n" +
            "*filter\n:PSC-FWD - [0:0]\n" +
            "-D FORWARD -m comment --comment pscontainer:pscontainer -j PSC-FWD\n" +
            "-X PSC-FWD\nCOMMIT\n" +
            "*mangle\n:PSC-LO - [0:0]\n" +
            "-D PREROUTING -m comment --comment pscontainer:pscontainer -j PSC-LO\n" +
            "-X PSC-LO\nCOMMIT\n", r);
    }

    [Fact]
    public void Forcing_the_backend_by_environment()
    {
        string? before = Environment.GetEnvironmentVariable("PSCONTAINER_FIREWALL");
        try
        {
            Environment.SetEnvironmentVariable("PSCONTAINER_FIREWALL", "iptables");
            Assert.IsType<IptablesBackend>(Firewall.Backend);
            Environment.SetEnvironmentVariable("PSCONTAINER_FIREWALL", "nftables");
            Assert.IsType<NftablesBackend>(Firewall.Backend);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSCONTAINER_FIREWALL", before);
        }
    }

    [SkippableFact]
    public void Iptables_restore_accepts_the_rules_in_test_mode()
    {
        Skip.If(IptablesFirewall.RestoreBinary is null, "iptables-restore is not installed (Debian package iptables)");
        Skip.If(Environment.UserName != "root", "iptables-restore --test needs root");
        foreach (var nets in new[] { Nets, Array.Empty<FirewallNetwork>() })
        {
            string r = IptablesFirewall.Generate("pscontainer_unitchk0", nets, Ports);
            var psi = new System.Diagnostics.ProcessStartInfo(IptablesFirewall.RestoreBinary, "--test --noflush") { RedirectStandardInput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            p.StandardInput.Write(r);
            p.StandardInput.Close();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err + "\n" + r);
        }
        Assert.False(IptablesFirewall.ChainsExist("pscontainer_unitchk0"), "--test must not leave chains behind");
    }
}
