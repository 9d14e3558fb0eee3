using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The subnets other engines declare (podman's CNI and netavark networks), which automatic subnets avoid.</summary>
public sealed class ForeignSubnetsTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void ReadsTheSubnetsOfCniAndNetavarkConfigurations()
    {
        string cni = dir.CreateDirectory("cni"), netavark = dir.CreateDirectory("networks");
        // Debian's podman package: 87-podman-bridge.conflist, ranges nested in arrays of arrays.
        File.WriteAllText(Path.Combine(cni, "87-podman-bridge.conflist"),
            """{"cniVersion":"0.4.0","name":"podman","plugins":[{"type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}]]}},{"type":"portmap"}]}""");
        // netavark: subnets as a list, an IPv6 one among them (not ours to avoid: our networks are IPv4).
        File.WriteAllText(Path.Combine(netavark, "web.json"),
            """{"name":"web","driver":"bridge","subnets":[{"subnet":"10.89.3.0/24","gateway":"10.89.3.1"},{"subnet":"fd00:1::/64"}]}""");
        File.WriteAllText(Path.Combine(cni, "broken.conflist"), "{ not json");
        File.WriteAllText(Path.Combine(cni, "cni.lock"), "");
        File.WriteAllText(Path.Combine(cni, "notes.txt"), """{"subnet":"10.200.0.0/16"}""");

        var found = ForeignSubnets.Read([cni, netavark, dir.Combine("missing")], podmanInstalled: false).Select(s => s.ToString()).Order();
        Assert.Equal(["10.88.0.0/16", "10.89.3.0/24"], found);
    }

    [Fact]
    public void PodmanInstalledWithoutAFileClaimsItsBuiltInDefault()
    {
        Assert.Equal(["10.88.0.0/16"], ForeignSubnets.Read([dir.Path], podmanInstalled: true).Select(s => s.ToString()));
        Assert.Empty(ForeignSubnets.Read([dir.Path], podmanInstalled: false));
    }
}
