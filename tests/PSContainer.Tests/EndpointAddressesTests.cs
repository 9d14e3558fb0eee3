using System.Text.Json.Nodes;
using PSContainer.Api;
using PSContainer.Engine.Networks;
using Xunit;

namespace PSContainer.Tests;

/// <summary>A running container's inspect carries each network's gateway and prefix length, as dockerd's does
/// (Testcontainers inside a container reaches published ports through the gateway).</summary>
public sealed class EndpointAddressesTests
{
    private static JsonObject Inspect(string address) => new()
    {
        ["NetworkSettings"] = new JsonObject
        {
            ["Gateway"] = "",
            ["IPPrefixLen"] = 0,
            ["Networks"] = new JsonObject
            {
                ["bridge"] = new JsonObject { ["IPAddress"] = address, ["Gateway"] = "", ["IPPrefixLen"] = 0 },
                ["app"] = new JsonObject { ["IPAddress"] = address.Length == 0 ? "" : "10.89.1.5", ["Gateway"] = "", ["IPPrefixLen"] = 0 },
            },
        },
    };

    private static readonly ContainerNetwork[] Networks =
    [
        new() { Name = "bridge", Subnet = "10.88.0.0/16", Gateway = "10.88.0.1" },
        new() { Name = "app", Subnet = "10.89.1.0/24", Gateway = "10.89.1.1" },
    ];

    [Fact]
    public void FillsGatewayAndPrefixOfEachNetworkOfARunningContainer()
    {
        var inspect = Inspect("10.88.0.7");
        EndpointAddresses.Fill(inspect, Networks);
        var settings = inspect["NetworkSettings"]!;
        Assert.Equal("10.88.0.1", (string?)settings["Networks"]!["bridge"]!["Gateway"]);
        Assert.Equal(16, (int)settings["Networks"]!["bridge"]!["IPPrefixLen"]!);
        Assert.Equal("10.89.1.1", (string?)settings["Networks"]!["app"]!["Gateway"]);
        Assert.Equal(24, (int)settings["Networks"]!["app"]!["IPPrefixLen"]!);
        // The top-level (legacy) fields speak of the default bridge only.
        Assert.Equal("10.88.0.1", (string?)settings["Gateway"]);
        Assert.Equal(16, (int)settings["IPPrefixLen"]!);
    }

    [Fact]
    public void LeavesAStoppedContainerWithoutAddresses()
    {
        var inspect = Inspect("");
        EndpointAddresses.Fill(inspect, Networks);
        Assert.Equal("", (string?)inspect["NetworkSettings"]!["Networks"]!["bridge"]!["Gateway"]);
        Assert.Equal("", (string?)inspect["NetworkSettings"]!["Gateway"]);
    }
}
