using System.Text.Json;
using PSContainer.Api;
using PSContainer.Engine.Images;
using Xunit;

namespace PSContainer.Tests;

/// <summary>Answers whose shape changed between API 1.41 and 1.44 are given in the shape of the version a request
/// asked for (a 1.41 client, the docker 20.10 CLI, keeps its shapes; Testcontainers 4 asks for 1.44).</summary>
public sealed class ApiVersionShapeTests
{
    private static readonly ContainerImage Image = new()
    {
        Id = "sha256:" + new string('a', 64),
        RepoTags = ["busybox:1"],
        Size = 1234,
        Added = DateTime.UtcNow,
    };

    [Fact]
    public void ServesUpTo144AndDefaultsToItsNewest()
    {
        Assert.Equal(new ApiVersion(1, 44), ApiVersion.Max);
        Assert.Equal(ApiVersion.Max, ApiVersion.Requested);
        using (ApiVersion.Use(new ApiVersion(1, 41)))
        {
            Assert.Equal(new ApiVersion(1, 41), ApiVersion.Requested);
            Assert.False(ApiVersion.RequestedAtLeast(1, 42));
        }
        Assert.Equal(ApiVersion.Max, ApiVersion.Requested);
    }

    [Fact]
    public void ImagesCarryVirtualSizeOnlyBefore144()
    {
        using (ApiVersion.Use(new ApiVersion(1, 41)))
        {
            Assert.Equal(1234, (long)DockerJson.ImageSummary(Image, 0)["VirtualSize"]!);
            Assert.Equal(1234, (long)DockerJson.ImageInspect(Image)["VirtualSize"]!);
        }
        using (ApiVersion.Use(new ApiVersion(1, 43)))
            Assert.True(DockerJson.ImageSummary(Image, 0).ContainsKey("VirtualSize"));
        using (ApiVersion.Use(new ApiVersion(1, 44)))
        {
            Assert.False(DockerJson.ImageSummary(Image, 0).ContainsKey("VirtualSize"));
            Assert.False(DockerJson.ImageInspect(Image).ContainsKey("VirtualSize"));
            Assert.Equal(1234, (long)DockerJson.ImageInspect(Image)["Size"]!);
        }
    }

    [Fact]
    public void UntaggedImagesListPlaceholdersOnlyBefore143()
    {
        var untagged = new ContainerImage { Id = Image.Id, Size = 1, Added = DateTime.UtcNow };
        using (ApiVersion.Use(new ApiVersion(1, 42)))
        {
            var summary = DockerJson.ImageSummary(untagged, 0);
            Assert.Equal("<none>:<none>", (string?)summary["RepoTags"]![0]);
            Assert.Equal("<none>@<none>", (string?)summary["RepoDigests"]![0]);
            Assert.Equal("busybox:1", (string?)DockerJson.ImageSummary(Image, 0)["RepoTags"]![0]);
        }
        using (ApiVersion.Use(new ApiVersion(1, 43)))
        {
            Assert.Empty(DockerJson.ImageSummary(untagged, 0)["RepoTags"]!.AsArray());
            Assert.Empty(DockerJson.ImageSummary(untagged, 0)["RepoDigests"]!.AsArray());
        }
    }

    [Fact]
    public void StreamsSayMultiplexedFrom142()
    {
        using (ApiVersion.Use(new ApiVersion(1, 41)))
            Assert.Equal("application/vnd.docker.raw-stream", ApiVersion.StreamContentType(multiplexed: true));
        using (ApiVersion.Use(new ApiVersion(1, 42)))
        {
            Assert.Equal("application/vnd.docker.multiplexed-stream", ApiVersion.StreamContentType(multiplexed: true));
            Assert.Equal("application/vnd.docker.raw-stream", ApiVersion.StreamContentType(multiplexed: false));
        }
    }

    private static PSContainer.Engine.Containers.ContainerOptions Map(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return CreateRequestMapper.Map(doc.RootElement, null);
    }

    [Fact]
    public void KernelMemoryIsIgnoredFrom142AndRefusedBefore()
    {
        const string body = @"{""Image"":""busybox"",""HostConfig"":{""KernelMemory"":1048576}}";
        using (ApiVersion.Use(new ApiVersion(1, 42)))
            Assert.Equal("busybox", Map(body).Image);
        using (ApiVersion.Use(new ApiVersion(1, 41)))
        {
            var e = Assert.Throws<ApiException>(() => Map(body));
            Assert.Contains("HostConfig.KernelMemory", e.Message);
        }
    }

    [Fact]
    public void HealthcheckStartIntervalCountsFrom144()
    {
        const string body = @"{""Image"":""busybox"",""Healthcheck"":{""Test"":[""CMD"",""true""],""Interval"":2000000000,""Retries"":2,""StartInterval"":1000000000}}";
        using (ApiVersion.Use(new ApiVersion(1, 44)))
        {
            var h = Map(body).Healthcheck!;
            Assert.Equal(["CMD", "true"], h.Test);
            Assert.Equal(2_000_000_000, h.Interval);
            Assert.Equal(2, h.Retries);
            Assert.Equal(1_000_000_000, h.StartInterval);
            Assert.Equal(1_000_000_000, (long)HealthJson.Config(h, null)!["StartInterval"]!);
        }
        using (ApiVersion.Use(new ApiVersion(1, 41)))
        {
            var h = Map(body).Healthcheck!;
            Assert.Equal(0, h.StartInterval);
            Assert.Equal(2_000_000_000, h.Interval);
        }
        // Absent or all zero: the image's healthcheck applies.
        Assert.Null(Map(@"{""Image"":""busybox"",""Healthcheck"":{""Test"":null,""Interval"":0}}").Healthcheck);
    }

    [Fact]
    public void MoreThanOneNetworkAtCreateIsRefusedBeforeApi144AndJoinedFrom()
    {
        const string body = @"{""Image"":""busybox"",""NetworkingConfig"":{""EndpointsConfig"":{""a"":{},""b"":{}}}}";
        using (ApiVersion.Use(new ApiVersion(1, 41)))
            Assert.Contains("Container cannot be connected to network endpoints: a, b", Assert.Throws<ApiException>(() => Map(body)).Message);
        using (ApiVersion.Use(new ApiVersion(1, 44)))
            Assert.Equal("b", Assert.Single(Map(body).MoreNetworks).Network);
        using (ApiVersion.Use(new ApiVersion(1, 44)))
            Assert.Equal("busybox", Map(@"{""Image"":""busybox"",""NetworkingConfig"":{""EndpointsConfig"":{""bridge"":{}}}}").Image);
    }
}
