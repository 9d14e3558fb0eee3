using System.Text.Json;
using PSContainer.Api;
using PSContainer.Engine;
using PSContainer.Engine.Services;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The pure parts behind the network, volume and prune endpoints: docker's object filters (until's time
/// forms, labels), and what compose's create request needs of the create mapper.</summary>
public sealed class DockerApiObjectsTests
{
    private static readonly DateTime Now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    private static Dictionary<string, IReadOnlyList<string>> Filters(params (string Key, string[] Values)[] f) =>
        f.ToDictionary(x => x.Key, x => (IReadOnlyList<string>)x.Values);

    [Theory]
    [InlineData("1700000000", "2023-11-14T22:13:20Z")]
    [InlineData("1700000000.5", "2023-11-14T22:13:20.5Z")]
    [InlineData("24h", "2026-11-30T12:00:00Z")]
    [InlineData("1h30m", "2026-12-01T10:30:00Z")]
    [InlineData("90s", "2026-12-01T11:58:30Z")]
    [InlineData("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z")]
    [InlineData("2026-11-01", "2026-11-01T00:00:00Z")]
    public void UntilTakesDockersTimeForms(string value, string expected)
    {
        var want = DateTime.Parse(expected, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.Equal(want, ObjectFilters.ParseTime(value, Now));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("10x")]
    [InlineData("")]
    public void UntilRefusesWhatIsNoTime(string value)
    {
        var e = Assert.Throws<EngineException>(() => ObjectFilters.ParseTime(value, Now));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void EveryLabelFilterMustHoldAndNoNegatedOne()
    {
        var labels = new Dictionary<string, string> { ["com.docker.compose.project"] = "p", ["com.docker.compose.service"] = "web", ["tier"] = "front" };
        Assert.True(ObjectFilters.LabelsMatch(Filters(("label", ["com.docker.compose.project=p", "com.docker.compose.service=web"])), labels));
        Assert.False(ObjectFilters.LabelsMatch(Filters(("label", ["com.docker.compose.project=p", "com.docker.compose.service=client"])), labels));
        Assert.True(ObjectFilters.LabelsMatch(Filters(("label", ["tier"])), labels));
        Assert.False(ObjectFilters.LabelsMatch(Filters(("label!", ["tier=front"])), labels));
        Assert.True(ObjectFilters.LabelsMatch(Filters(("label!", ["tier=back"])), labels));
        Assert.True(ObjectFilters.LabelsMatch(Filters(), labels));
    }

    [Fact]
    public void UnknownFiltersAndDanglingWordsAreRefused()
    {
        Assert.Throws<EngineException>(() => ObjectFilters.Check(Filters(("colour", ["red"])), "name", "label"));
        Assert.Throws<EngineException>(() => ObjectFilters.Dangling(Filters(("dangling", ["maybe"]))));
        Assert.True(ObjectFilters.Dangling(Filters(("dangling", ["1"]))));
        Assert.Null(ObjectFilters.Dangling(Filters()));
        Assert.True(ObjectFilters.NameMatches(Filters(("name", ["app"])), "pester-app2"));
    }

    // The parts of compose 1.29's create request for a service with a named volume on the project network.
    private const string ComposeBody = """
        {"Image": "pester/busybox:1", "Volumes": {"/www": {}}, "Labels": {"com.docker.compose.project": "p"},
         "HostConfig": {"Binds": ["p_site:/www:rw"], "NetworkMode": "p_default", "Links": [], "LogConfig": {"Type": "", "Config": {}}},
         "NetworkingConfig": {"EndpointsConfig": {"p_default": {"Aliases": ["web"], "IPAMConfig": {}}}}}
        """;

    [Fact]
    public void ComposesNamedVolumeMakesNoAnonymousVolumeBesideIt()
    {
        using var doc = JsonDocument.Parse(ComposeBody);
        var o = CreateRequestMapper.Map(doc.RootElement, "p_web_1");
        Assert.Equal(["p_site:/www:rw"], o.Volumes);
        Assert.Equal("p_default", o.Network);
        Assert.Equal(["web"], o.NetworkAliases);
    }

    [Fact]
    public void EndpointSettingsGoToTheContainersNetworkOnly()
    {
        using var alone = JsonDocument.Parse("""{"Image": "x", "NetworkingConfig": {"EndpointsConfig": {"appnet": {"Aliases": ["a"]}}}}""");
        Assert.Equal("appnet", CreateRequestMapper.Map(alone.RootElement, null).Network);
        using var other = JsonDocument.Parse("""{"Image": "x", "HostConfig": {"NetworkMode": "one"}, "NetworkingConfig": {"EndpointsConfig": {"two": {"Aliases": ["a"]}}}}""");
        // Before API 1.44 only the NetworkMode's endpoint may be named; from 1.44 another is joined too (NetworkStatsTests).
        Assert.True(ApiVersion.TryParse("1.41", out var v141));
        using (ApiVersion.Use(v141))
        {
            var e = Assert.Throws<ApiException>(() => CreateRequestMapper.Map(other.RootElement, null));
            Assert.Contains("EndpointsConfig.two", e.Message);
        }
        var joined = CreateRequestMapper.Map(other.RootElement, null);
        Assert.Equal("one", joined.Network);
        Assert.Equal(["a"], Assert.Single(joined.MoreNetworks).Aliases);
    }

    [Fact]
    public void TheDefaultEndpointOfACurrentDockerCliIsTheDefaultBridge()
    {
        // docker 28's docker run: NetworkMode "default" and an endpoint of that name, its fields at their zero values.
        using var run = JsonDocument.Parse("""{"Image": "x", "HostConfig": {"NetworkMode": "default"}, "NetworkingConfig": {"EndpointsConfig": {"default": {"IPAMConfig": null, "Aliases": null, "MacAddress": "", "GwPriority": 0, "DNSNames": null}}}}""");
        Assert.Equal("bridge", CreateRequestMapper.Map(run.RootElement, null).Network);
    }
}
