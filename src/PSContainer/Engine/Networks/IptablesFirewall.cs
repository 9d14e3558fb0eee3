using System.Globalization;
using System.Text;

namespace PSContainer.Engine.Networks;

/// <summary>
/// The fallback for hosts with iptables only: the same rules as <see cref="Firewall.Generate"/>'s nftables table, in
/// chains of our own named for the table (PSC-DNAT, PSC-POST, PSC-FWD, PSC-LO for the default state root,
/// PSC-&lt;hash&gt;-… for others). nat PREROUTING and OUTPUT jump to the DNAT chain for local destinations, nat
/// POSTROUTING to the masquerade chain, filter FORWARD (first) to the forward chain, mangle PREROUTING to the chain
/// that drops packets for 127.0.0.0/8 arriving on our bridges (<see cref="Firewall.LoopbackDrop"/>); each jump
/// carries our comment and is inserted once (checked with -C). A rewrite declares our chains (which flushes them) and refills them in one
/// `iptables-restore --noflush` transaction per table; with no network left the jumps and chains are deleted.
/// </summary>
public static class IptablesFirewall
{
    /// <summary>A jump from a built-in chain to ours: table, built-in chain, and the rule's arguments.</summary>
    public sealed record Jump(string Table, string Chain, string[] Spec)
    {
        public string Key => Table + " " + Chain + " " + string.Join(' ', Spec);
    }

    /// <summary>The prefix of our chain names: PSC for table pscontainer, PSC-&lt;hash&gt; for pscontainer_&lt;hash&gt;.</summary>
    public static string ChainPrefix(string table)
    {
        if (table == "pscontainer") return "PSC";
        string suffix = table.StartsWith("pscontainer_", StringComparison.Ordinal) ? table["pscontainer_".Length..] : table;
        if (suffix.Length > 18) suffix = suffix[..18]; // chain names are at most 28 characters: PSC-<suffix>-DNAT
        return "PSC-" + suffix;
    }

    public static string DnatChain(string table) => ChainPrefix(table) + "-DNAT";
    public static string PostChain(string table) => ChainPrefix(table) + "-POST";
    public static string ForwardChain(string table) => ChainPrefix(table) + "-FWD";
    public static string LoopbackChain(string table) => ChainPrefix(table) + "-LO";
    /// <summary>The key <see cref="PresentJumps"/> adds when our mangle chain exists (a removal touches that table only then).</summary>
    public static string LoopbackChainKey(string table) => "mangle -N " + LoopbackChain(table);
    public static string Comment(string table) => "pscontainer:" + table;

    /// <summary>The jumps into our chains, in the form `iptables -C`/`-D` and iptables-restore take them.</summary>
    public static IReadOnlyList<Jump> Jumps(string table)
    {
        string[] comment = ["-m", "comment", "--comment", Comment(table)];
        string[] local = ["-m", "addrtype", "--dst-type", "LOCAL"];
        return
        [
            new Jump("nat", "PREROUTING", [.. local, .. comment, "-j", DnatChain(table)]),
            new Jump("nat", "OUTPUT", [.. local, .. comment, "-j", DnatChain(table)]),
            new Jump("nat", "POSTROUTING", [.. comment, "-j", PostChain(table)]),
            new Jump("filter", "FORWARD", [.. comment, "-j", ForwardChain(table)]),
            new Jump("mangle", "PREROUTING", [.. comment, "-j", LoopbackChain(table)]),
        ];
    }

    /// <summary>
    /// The iptables-restore (--noflush) text that makes our chains hold exactly the rules for
    /// <paramref name="networks"/> and <paramref name="ports"/>; jumps not in <paramref name="present"/> (keys of
    /// <see cref="Jump.Key"/>) are inserted first in their built-in chain. With no network it deletes the present
    /// jumps and our chains; the mangle table is touched then only if our chain or jump is there (iptables-nft would
    /// otherwise make that table just to delete nothing in it).
    /// </summary>
    public static string Generate(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports, IReadOnlySet<string>? present = null)
    {
        present ??= new HashSet<string>();
        string dnat = DnatChain(table), post = PostChain(table), fwd = ForwardChain(table), lo = LoopbackChain(table);
        string I(int n) => n.ToString(CultureInfo.InvariantCulture);
        var jumps = Jumps(table);
        var s = new StringBuilder();

        void EmitJumps(string t)
        {
            foreach (var j in jumps.Where(j => j.Table == t))
            {
                bool there = present.Contains(j.Key);
                if (networks.Count == 0 && there) s.Append("-D ").Append(j.Chain).Append(' ').Append(string.Join(' ', j.Spec)).Append('\n');
                else if (networks.Count > 0 && !there) s.Append("-I ").Append(j.Chain).Append(" 1 ").Append(string.Join(' ', j.Spec)).Append('\n');
            }
        }

        s.Append("*nat\n");
        s.Append(':').Append(dnat).Append(" - [0:0]\n");
        s.Append(':').Append(post).Append(" - [0:0]\n");
        if (networks.Count == 0)
        {
            EmitJumps("nat");
            s.Append("-X ").Append(dnat).Append('\n');
            s.Append("-X ").Append(post).Append('\n');
            s.Append("COMMIT\n*filter\n");
            s.Append(':').Append(fwd).Append(" - [0:0]\n");
            EmitJumps("filter");
            s.Append("-X ").Append(fwd).Append('\n');
            s.Append("COMMIT\n");
            if (present.Contains(LoopbackChainKey(table)) || jumps.Any(j => j.Table == "mangle" && present.Contains(j.Key)))
            {
                s.Append("*mangle\n");
                s.Append(':').Append(lo).Append(" - [0:0]\n");
                EmitJumps("mangle");
                s.Append("-X ").Append(lo).Append('\n');
                s.Append("COMMIT\n");
            }
            return s.ToString();
        }
        foreach (var p in ports)
        {
            s.Append("-A ").Append(dnat);
            if (p.HostIp != "0.0.0.0") s.Append(" -d ").Append(p.HostIp).Append("/32");
            s.Append(" -p ").Append(p.Protocol).Append(" -m ").Append(p.Protocol).Append(" --dport ").Append(I(p.HostPort))
                .Append(" -j DNAT --to-destination ").Append(p.ContainerAddress).Append(':').Append(I(p.ContainerPort)).Append('\n');
        }
        foreach (var n in networks)
        {
            // Published ports reached through 127.0.0.1 (route_localnet) and hairpin connections need the reply to come back through us.
            s.Append("-A ").Append(post).Append(" -s 127.0.0.0/8 -o ").Append(n.Bridge).Append(" -j MASQUERADE\n");
            s.Append("-A ").Append(post).Append(" -s ").Append(n.Subnet).Append(" -o ").Append(n.Bridge).Append(" -m conntrack --ctstate DNAT -j MASQUERADE\n");
            if (!n.Internal)
                s.Append("-A ").Append(post).Append(" -s ").Append(n.Subnet).Append(" ! -o ").Append(n.Bridge).Append(" -j MASQUERADE\n");
        }
        EmitJumps("nat");
        s.Append("COMMIT\n*filter\n");
        s.Append(':').Append(fwd).Append(" - [0:0]\n");
        // The nft table's forward chain in the same order: internal networks' drops, published ports (DNAT) across
        // networks, isolation between networks; then, since an ACCEPT here is final for FORWARD (nft's chain had
        // policy accept and other engines' DROP policy was countered by EnsureForwardAccept), what comes from or goes
        // to our bridges is accepted.
        foreach (var n in networks.Where(n => n.Internal))
        {
            s.Append("-A ").Append(fwd).Append(" -i ").Append(n.Bridge).Append(" ! -o ").Append(n.Bridge).Append(" -j DROP\n");
            s.Append("-A ").Append(fwd).Append(" ! -i ").Append(n.Bridge).Append(" -o ").Append(n.Bridge).Append(" -j DROP\n");
        }
        foreach (var n in networks)
        {
            s.Append("-A ").Append(fwd).Append(" -i ").Append(n.Bridge).Append(" -m conntrack --ctstate DNAT -j ACCEPT\n");
            s.Append("-A ").Append(fwd).Append(" -o ").Append(n.Bridge).Append(" -m conntrack --ctstate DNAT -j ACCEPT\n");
        }
        foreach (var n in networks)
            s.Append("-A ").Append(fwd).Append(" -i ").Append(n.Bridge).Append(" -o ").Append(n.Bridge).Append(" -j ACCEPT\n");
        if (networks.Count > 1)
        {
            foreach (var n in networks)
                foreach (var o in networks.Where(o => o.Bridge != n.Bridge))
                    s.Append("-A ").Append(fwd).Append(" -i ").Append(n.Bridge).Append(" -o ").Append(o.Bridge).Append(" -j DROP\n");
        }
        foreach (var n in networks)
            s.Append("-A ").Append(fwd).Append(" -o ").Append(n.Bridge).Append(" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
        foreach (var n in networks)
        {
            s.Append("-A ").Append(fwd).Append(" -i ").Append(n.Bridge).Append(" -j ACCEPT\n");
            s.Append("-A ").Append(fwd).Append(" -o ").Append(n.Bridge).Append(" -j ACCEPT\n");
        }
        EmitJumps("filter");
        s.Append("COMMIT\n*mangle\n");
        s.Append(':').Append(lo).Append(" - [0:0]\n");
        foreach (var n in networks)
            s.Append("-A ").Append(lo).Append(" -d 127.0.0.0/8 -i ").Append(n.Bridge).Append(" -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP\n");
        EmitJumps("mangle");
        s.Append("COMMIT\n");
        return s.ToString();
    }

    public static string? IptablesBinary => Firewall.FindOnPath("iptables");
    public static string? RestoreBinary => Firewall.FindOnPath("iptables-restore");

    /// <summary>The keys of our jumps that are in place now.</summary>
    public static HashSet<string> PresentJumps(string table)
    {
        var present = new HashSet<string>();
        if (IptablesBinary is not { } ipt) return present;
        foreach (var j in Jumps(table))
            if (Firewall.Run(ipt, ["-w", "-t", j.Table, "-C", j.Chain, .. j.Spec], null).Code == 0) present.Add(j.Key);
        if (Firewall.Run(ipt, ["-w", "-t", "mangle", "-S", LoopbackChain(table)], null).Code == 0) present.Add(LoopbackChainKey(table));
        return present;
    }

    /// <summary>Whether any of our chains exists.</summary>
    public static bool ChainsExist(string table)
    {
        if (IptablesBinary is not { } ipt) return false;
        return Firewall.Run(ipt, ["-w", "-t", "filter", "-S", ForwardChain(table)], null).Code == 0
               || Firewall.Run(ipt, ["-w", "-t", "nat", "-S", DnatChain(table)], null).Code == 0
               || Firewall.Run(ipt, ["-w", "-t", "nat", "-S", PostChain(table)], null).Code == 0
               || Firewall.Run(ipt, ["-w", "-t", "mangle", "-S", LoopbackChain(table)], null).Code == 0;
    }

    /// <summary>Rewrites our chains (or removes them and their jumps when <paramref name="networks"/> is empty).</summary>
    public static void Apply(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports)
    {
        if (IptablesBinary is null || RestoreBinary is not { } restore)
            throw new EngineException("IptablesNotInstalled", ErrorKind.NotInstalled, "iptables",
                "Container networks need nftables or iptables: neither 'nft' nor 'iptables-restore' was found (apt-get install nftables).");
        string rules = Generate(table, networks, ports, PresentJumps(table));
        var (code, _, err) = Firewall.Run(restore, ["-w", "--noflush"], rules);
        if (code != 0)
            throw new EngineException("FirewallFailed", ErrorKind.InvalidOperation, rules, $"iptables-restore refused the container network rules: {err.Trim()}");
    }
}

/// <summary>Where a state root's firewall rules live: an nftables table, or iptables chains of our own.</summary>
public interface IFirewallBackend
{
    string Name { get; }
    /// <summary>Whether rules of <paramref name="table"/> are in place (so a rewrite with no network has something to remove).</summary>
    bool Exists(string table);
    /// <summary>Makes the rules of <paramref name="table"/> match <paramref name="networks"/> and <paramref name="ports"/>; none left with no network.</summary>
    void Apply(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports);
}

public sealed class NftablesBackend : IFirewallBackend
{
    public static readonly NftablesBackend Instance = new();
    public string Name => "nftables";
    public bool Exists(string table) => Firewall.TableExists(table);
    public void Apply(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports) =>
        Firewall.Apply(Firewall.Generate(table, networks, ports));
}

public sealed class IptablesBackend : IFirewallBackend
{
    public static readonly IptablesBackend Instance = new();
    public string Name => "iptables";
    public bool Exists(string table) => IptablesFirewall.ChainsExist(table);
    public void Apply(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports) =>
        IptablesFirewall.Apply(table, networks, ports);
}
