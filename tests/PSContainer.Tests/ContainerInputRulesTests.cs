using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using Xunit;

namespace PSContainer.Tests;

/// <summary>One set of rules for what a container is given, wherever it is given.</summary>
public sealed class ContainerInputRulesTests
{
    private static EngineException Refused(Action check) => Assert.Throws<EngineException>(check);

    [Theory]
    [InlineData("A", "b")]
    [InlineData("PATH", "/bin:/usr/bin")]
    [InlineData("EMPTY", "")]
    [InlineData("with space", "x")]      // docker passes odd names through; only '=' and NUL break the environment
    [InlineData("A", "b=c")]             // '=' in a value is fine
    public void AcceptsWhatAProcessEnvironmentCanHold(string name, string value)
    {
        ContainerInputRules.ValidateEnvironment([new(name, value)]);
    }

    [Theory]
    [InlineData("", "x")]
    [InlineData("A=B", "c")]             // the process would see A=B=c
    [InlineData("A\0B", "c")]
    [InlineData("A", "a\0b")]            // execve would cut it to 'a'
    public void RefusesWhatItCannot(string name, string value)
    {
        var e = Refused(() => ContainerInputRules.ValidateEnvironment([new(name, value)]));
        Assert.Equal("InvalidEnvironment", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Theory]
    [InlineData("web")]
    [InlineData("web-1.example.com")]
    [InlineData("a")]
    [InlineData("0abc")]
    public void AcceptsRfc1123Hostnames(string hostname)
    {
        ContainerInputRules.ValidateHostname(hostname);
        ContainerInputRules.ValidateHostname(null);
    }

    [Fact]
    public void RefusesHostnamesTheKernelOrRfc1123Would()
    {
        foreach (string bad in new[] { "", new string('a', 65), new string('a', 300), "-web", "web-", "we_b", "web..x", "web x", "a." + new string('b', 64) })
            Assert.Equal("InvalidHostname", Refused(() => ContainerInputRules.ValidateHostname(bad)).ErrorId);
        Assert.Contains("64", Refused(() => ContainerInputRules.ValidateHostname(new string('a', 300))).Message);
        ContainerInputRules.ValidateHostname(new string('a', 63));
    }

    [Theory]
    [InlineData("busybox")]
    [InlineData("registry.local:5000/team/app:1")]
    [InlineData("3f2a")]                 // an id prefix
    [InlineData("sha256:3f2a9c")]
    public void AcceptsReferencesAndIds(string nameOrId) => ImageStore.ValidateNameOrId(nameOrId);

    [Theory]
    [InlineData("Probe/BB:1")]           // uppercase repository
    [InlineData("app:")]
    [InlineData("a b")]
    public void RefusesWhatIsNeither(string nameOrId)
    {
        Assert.Equal("InvalidReference", Refused(() => ImageStore.ValidateNameOrId(nameOrId)).ErrorId);
    }
}
