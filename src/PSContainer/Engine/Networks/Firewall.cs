using System.Globalization;
using System.Text;

namespace PSContainer.Engine.Networks;

/// <summary>A network as the firewall sees it.</summary>
public sealed record FirewallNetwork(string Bridge, string Subnet, bool Internal);

/// <summary>A published port as the firewall sees it: host side to the container's address.</summary>
public sealed record FirewallPort(string HostIp, int HostPort, string Protocol, string ContainerAddress, int ContainerPort);

/// <summary>
/// The firewall rules of one state root: a single nftables table (inet family) holding the port DNAT, the
/// masquerading and the isolation between networks. The whole table is regenerated from the state database and
/// replaced in one nft transaction, so it always matches what the database says and never holds a removed
/// container's rule.
/// </summary>
public static class Firewall
{
    /// <summary>
    /// The ruleset that replaces table <paramref name="table"/>: declared (so delete never fails), deleted, and, if
    /// there is any network, defined anew. nft applies the whole text atomically.
    /// </summary>
    public static string Generate(string table, IReadOnlyList<FirewallNetwork> networks, IReadOnlyList<FirewallPort> ports)
    {
        var s = new StringBuilder();
        s.Append("table inet ").Append(table).Append('\n');
        s.Append("delete table inet ").Append(table).Append('\n');
        if (networks.Count == 0) return s.ToString();
        string Q(string name) => "\"" + name + "\"";

        s.Append("table inet ").Append(table).Append(" {\n");
        s.Append("\tchain published {\n");
        foreach (var p in ports)
        {
            s.Append("\t\t");
            if (p.HostIp != "0.0.0.0") s.Append("ip daddr ").Append(p.HostIp).Append(' ');
            s.Append(p.Protocol).Append(" dport ").Append(p.HostPort.ToString(CultureInfo.InvariantCulture))
                .Append(" dnat ip to ").Append(p.ContainerAddress).Append(':').Append(p.ContainerPort.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        s.Append("\t}\n");
        s.Append("\tchain loopback {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n");
        foreach (var n in networks) s.Append("\t\t").Append(LoopbackDrop(Q(n.Bridge))).Append('\n');
        s.Append("\t}\n");
        s.Append("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump published\n\t}\n");
        s.Append("\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump published\n\t}\n");
        s.Append("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        foreach (var n in networks)
        {
            // Published ports reached through 127.0.0.1 (route_localnet) and hairpin connections need the reply to come back through us.
            s.Append("\t\toifname ").Append(Q(n.Bridge)).Append(" ip saddr 127.0.0.0/8 masquerade\n");
            s.Append("\t\toifname ").Append(Q(n.Bridge)).Append(" ct status dnat ip saddr ").Append(n.Subnet).Append(" masquerade\n");
            if (!n.Internal)
                s.Append("\t\tip saddr ").Append(n.Subnet).Append(" oifname != ").Append(Q(n.Bridge)).Append(" masquerade\n");
        }
        s.Append("\t}\n");
        s.Append("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
        foreach (var n in networks.Where(n => n.Internal))
        {
            s.Append("\t\tiifname ").Append(Q(n.Bridge)).Append(" oifname != ").Append(Q(n.Bridge)).Append(" drop\n");
            s.Append("\t\toifname ").Append(Q(n.Bridge)).Append(" iifname != ").Append(Q(n.Bridge)).Append(" drop\n");
        }
        s.Append("\t\tct status dnat accept\n");
        if (networks.Count > 1)
        {
            foreach (var n in networks)
            {
                var others = networks.Where(o => o.Bridge != n.Bridge).Select(o => Q(o.Bridge)).ToList();
                s.Append("\t\tiifname ").Append(Q(n.Bridge)).Append(" oifname { ").Append(string.Join(", ", others)).Append(" } drop\n");
            }
        }
        s.Append("\t}\n");
        s.Append("}\n");
        return s.ToString();
    }

    /// <summary>
    /// The rule that keeps a network's containers off the host's 127.0.0.0/8 (CVE-2020-8558). Every bridge has
    /// route_localnet=1 (published ports on 127.0.0.1 are masqueraded out of it with a loopback source), and with it
    /// the kernel accepts a packet addressed to 127.0.0.1 that arrives on the bridge: a container with CAP_NET_RAW
    /// that writes one to the bridge's MAC reaches services bound to the host's loopback, and through the DNAT of a
    /// port published on 127.0.0.1 that container (docker #45610). Kubernetes' KUBE-FIREWALL rule (filter INPUT:
    /// -d 127.0.0.0/8 ! -s 127.0.0.0/8, not RELATED,ESTABLISHED,DNAT) drops the first case; ours sits in prerouting
    /// at mangle priority, after conntrack and before DNAT, so it also catches the second, where the destination is
    /// still 127.0.0.0/8 (Docker 28 drops that one in raw PREROUTING for the published port). It is scoped to the
    /// bridge, so lo and the host's other interfaces are untouched and no source needs an exception: a packet from a
    /// bridge with a loopback source is a spoof too. Replies of the host's own connections through the bridge come
    /// back to the gateway address (they were masqueraded), and established or related packets pass anyway.
    /// </summary>
    public static string LoopbackDrop(string bridge) => "iifname " + bridge + " ip daddr 127.0.0.0/8 ct state != { established, related } drop";

    public static string? NftBinary => FindOnPath("nft");

    /// <summary>
    /// The backend that holds the rules: nftables where `nft` exists, else iptables chains of our own
    /// (<see cref="IptablesFirewall"/>). $env:PSCONTAINER_FIREWALL = 'iptables' or 'nftables' forces one.
    /// </summary>
    public static IFirewallBackend Backend => System.Environment.GetEnvironmentVariable("PSCONTAINER_FIREWALL")?.Trim().ToLowerInvariant() switch
    {
        "iptables" => IptablesBackend.Instance,
        "nftables" or "nft" => NftablesBackend.Instance,
        _ => NftBinary is null && IptablesFirewall.RestoreBinary is not null ? IptablesBackend.Instance : NftablesBackend.Instance,
    };

    /// <summary>The other backend, whose rules of a table are removed when the last network goes (a switch of backend leaves nothing behind).</summary>
    public static IFirewallBackend? OtherBackend(IFirewallBackend backend) => backend is IptablesBackend
        ? (NftBinary is null ? null : NftablesBackend.Instance)
        : (IptablesFirewall.RestoreBinary is null ? null : IptablesBackend.Instance);
    private static string? IptablesBinary => FindOnPath("iptables");

    internal static string? FindOnPath(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") + ":/usr/sbin:/sbin:/usr/local/sbin").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Feeds <paramref name="ruleset"/> to `nft -f -` on stdin.</summary>
    public static void Apply(string ruleset)
    {
        string nft = NftBinary ?? throw new EngineException("NftablesNotInstalled", ErrorKind.NotInstalled, "nft",
            "Container networks need nftables or iptables: the 'nft' command was not found (apt-get install nftables).");
        var (code, _, err) = Run(nft, ["-f", "-"], ruleset);
        if (code != 0)
            throw new EngineException("FirewallFailed", ErrorKind.InvalidOperation, ruleset, $"nft refused the container network rules: {err.Trim()}");
    }

    public static bool TableExists(string table)
    {
        if (NftBinary is not { } nft) return false;
        return Run(nft, ["list", "table", "inet", table], null).Code == 0;
    }

    private const string ForwardComment = "pscontainer";

    /// <summary>
    /// Another engine (docker) may have set the FORWARD policy of iptables' filter table to DROP, and in netfilter a
    /// drop in any table's chain is final, so our bridges would be cut off. As podman does, accept what comes from or
    /// goes to our bridges in that chain (marked with our comment); <see cref="RemoveForwardAccept"/> takes it out.
    /// </summary>
    public static void EnsureForwardAccept()
    {
        // With the iptables backend our own chain, first in FORWARD, accepts our bridges after its drops: an accept
        // put before it would skip the isolation.
        if (Backend is IptablesBackend) return;
        if (IptablesBinary is not { } ipt) return;
        if (!ForwardPolicyDrops(ipt)) return;
        foreach (string dir in new[] { "-i", "-o" })
        {
            string[] rule = [dir, "psc+", "-m", "comment", "--comment", ForwardComment, "-j", "ACCEPT"];
            if (Run(ipt, ["-w", "-C", "FORWARD", .. rule], null).Code != 0)
                Run(ipt, ["-w", "-I", "FORWARD", "1", .. rule], null);
        }
    }

    /// <summary>
    /// Whether iptables' FORWARD policy is DROP. Asked on every container start, so for iptables-nft (where the
    /// policy is that of nftables chain ip filter FORWARD) it is read over netlink rather than by running
    /// `iptables -S FORWARD`; the legacy backend keeps its tables elsewhere and is asked through the binary.
    /// </summary>
    private static bool ForwardPolicyDrops(string ipt)
    {
        if (IsNftVariant(ipt)) return PSContainer.Native.Netlink.NftablesNetlink.ChainPolicyDrops(PSContainer.Native.Netlink.NftablesNetlink.NFPROTO_IPV4, "filter", "FORWARD");
        var (code, output, _) = Run(ipt, ["-w", "-S", "FORWARD"], null);
        return code == 0 && output.Contains("-P FORWARD DROP", StringComparison.Ordinal);
    }

    /// <summary>Whether an iptables binary is iptables-nft (xtables-nft-multi), by where its links lead.</summary>
    internal static bool IsNftVariant(string iptables)
    {
        try
        {
            string target = new FileInfo(iptables).ResolveLinkTarget(returnFinalTarget: true)?.Name ?? Path.GetFileName(iptables);
            return target.Contains("nft", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static void RemoveForwardAccept()
    {
        if (IptablesBinary is not { } ipt) return;
        foreach (string dir in new[] { "-i", "-o" })
        {
            string[] rule = [dir, "psc+", "-m", "comment", "--comment", ForwardComment, "-j", "ACCEPT"];
            for (int i = 0; i < 10 && Run(ipt, ["-w", "-D", "FORWARD", .. rule], null).Code == 0; i++) { }
        }
    }

    /// <summary>Runs a tool with <paramref name="stdin"/> fed to it (posix_spawn and pipes of our own: cheap, and no handle outlives the call).</summary>
    internal static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string? stdin)
    {
        if (stdin is null) return PSContainer.Native.ProcessSpawner.Run(file, [file, .. args], Environment, TimeSpan.FromSeconds(30));
        var (inRead, inWrite) = PSContainer.Native.ProcessSpawner.Pipe();
        var (outRead, outWrite) = PSContainer.Native.ProcessSpawner.Pipe();
        var (errRead, errWrite) = PSContainer.Native.ProcessSpawner.Pipe();
        int pid;
        try
        {
            pid = PSContainer.Native.ProcessSpawner.Spawn(file, [file, .. args], Environment,
                new Dictionary<int, int> { [inRead] = 0, [outWrite] = 1, [errWrite] = 2 });
        }
        catch
        {
            PSContainer.Native.ProcessSpawner.Close(inWrite);
            PSContainer.Native.ProcessSpawner.Close(outRead);
            PSContainer.Native.ProcessSpawner.Close(errRead);
            throw;
        }
        finally
        {
            PSContainer.Native.ProcessSpawner.Close(inRead);
            PSContainer.Native.ProcessSpawner.Close(outWrite);
            PSContainer.Native.ProcessSpawner.Close(errWrite);
        }
        using var input = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(inWrite, true), FileAccess.Write, 1);
        using var output = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(outRead, true), FileAccess.Read, 1);
        using var error = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(errRead, true), FileAccess.Read, 1);
        var outText = Task.Run(() => new StreamReader(output).ReadToEnd());
        var errText = Task.Run(() => new StreamReader(error).ReadToEnd());
        try
        {
            input.Write(Encoding.UTF8.GetBytes(stdin));
        }
        catch (IOException)
        {
            // The tool exited without reading everything; its exit code and stderr say why.
        }
        input.Dispose();
        if (!Task.WaitAll([outText, errText], TimeSpan.FromSeconds(30)))
        {
            PSContainer.Native.ProcessSignal.TrySend(pid, PSContainer.Native.ProcessSignal.SIGKILL);
            PSContainer.Native.ProcessSpawner.Wait(pid);
            throw new EngineException("FirewallTimeout", ErrorKind.OperationStopped, file, $"{file} did not finish within 30 s.");
        }
        int status = PSContainer.Native.ProcessSpawner.Wait(pid);
        int code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
        return (code, outText.Result, errText.Result);
    }

    private static readonly Dictionary<string, string> Environment = new() { ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
}
