using PSContainer.Engine.Oci;
using Xunit;

namespace PSContainer.Tests;

public class DigestTests
{
    [Fact]
    public void ChainIdOfOneLayerIsItsDiffId()
    {
        var diff = Digest.Compute("layer");
        Assert.Equal(diff, Digest.ChainIds([diff])[0]);
    }
}
