using PSContainer.Engine;
using PSContainer.Engine.Networks;
using PSContainer.Engine.Storage;
using Xunit;

namespace PSContainer.Tests;

public class NetworkIpamTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly StateDb db;
    private readonly NetworkStore store;

    public NetworkIpamTests()
    {
        db = new StateDb(dir.Combine("state.db"));
        store = new NetworkStore(db);
    }

    public void Dispose() => dir.Dispose();

    private NetworkRecord Network(string name, string subnet, string gateway, string? range = null)
    {
        var n = new NetworkRecord { Id = name + "-id", Name = name, Subnet = subnet, Gateway = gateway, IPRange = range, Bridge = "psc" + name, Created = DateTime.UtcNow };
        store.Insert(n);
        return n;
    }

    private void Container(string id) => db.Write((c, tx) => c.Execute(tx,
        "INSERT INTO containers(id, name, image, image_id, created, options, command, state) VALUES($id, $id, 'i', 'i', '2020-01-01T00:00:00Z', '{}', '[]', 'Created')", ("$id", id)));

    [Fact]
    public void Allocates_lowest_free_address_skipping_the_gateway()
    {
        var n = Network("a", "10.50.0.0/24", "10.50.0.1");
        foreach (string c in new[] { "c1", "c2", "c3" }) Container(c);
        Assert.Equal("10.50.0.2", store.Allocate(n, "c1", null, [], "v1").Address);
        Assert.Equal("10.50.0.3", store.Allocate(n, "c2", null, [], "v2").Address);
        store.Release(n.Id, "c1");
        Assert.Equal("10.50.0.2", store.Allocate(n, "c3", null, [], "v3").Address);
    }

    [Fact]
    public void Honours_the_range_and_a_gateway_inside_it()
    {
        var n = Network("r", "10.51.0.0/24", "10.51.0.129", "10.51.0.128/30");
        foreach (string c in new[] { "c1", "c2", "c3" }) Container(c);
        Assert.Equal("10.51.0.130", store.Allocate(n, "c1", null, [], "v1").Address);
        var e = Assert.Throws<EngineException>(() => store.Allocate(n, "c2", null, [], "v2"));
        Assert.Equal("AddressPoolExhausted", e.ErrorId);
        Assert.Equal("10.51.0.7", store.Allocate(n, "c3", "10.51.0.7", [], "v3").Address);
    }

    [Fact]
    public void Refuses_static_addresses_outside_or_taken()
    {
        var n = Network("s", "10.52.0.0/24", "10.52.0.1");
        foreach (string c in new[] { "c1", "c2" }) Container(c);
        store.Allocate(n, "c1", "10.52.0.10", ["alias"], "v1");
        Assert.Equal("AddressInUse", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", "10.52.0.10", [], "v2")).ErrorId);
        Assert.Equal("AddressInUse", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", "10.52.0.1", [], "v2")).ErrorId);
        Assert.Equal("AddressOutOfSubnet", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", "10.53.0.5", [], "v2")).ErrorId);
        Assert.Equal("AddressOutOfSubnet", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", "10.52.0.255", [], "v2")).ErrorId);
        Assert.Equal("AddressOutOfSubnet", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", "10.52.0.0", [], "v2")).ErrorId);
        Assert.Equal("AlreadyConnected", Assert.Throws<EngineException>(() => store.Allocate(n, "c1", null, [], "v9")).ErrorId);
        Assert.Equal(["alias"], store.EndpointsOf("c1")[0].Aliases);
    }

    [Fact]
    public void A_slash_30_holds_one_container()
    {
        var n = Network("t", "10.54.0.0/30", "10.54.0.1");
        Container("c1");
        Container("c2");
        Assert.Equal("10.54.0.2", store.Allocate(n, "c1", null, [], "v1").Address);
        Assert.Equal("AddressPoolExhausted", Assert.Throws<EngineException>(() => store.Allocate(n, "c2", null, [], "v2")).ErrorId);
    }

    [Fact]
    public void Overlapping_networks_and_names_are_refused()
    {
        Network("o", "10.55.0.0/16", "10.55.0.1");
        Assert.Equal("SubnetOverlap", Assert.Throws<EngineException>(() => Network("p", "10.55.3.0/24", "10.55.3.1")).ErrorId);
        Assert.Equal("NetworkExists", Assert.Throws<EngineException>(() => Network("o", "10.56.0.0/24", "10.56.0.1")).ErrorId);
    }

    [Fact]
    public void Concurrent_allocations_never_share_an_address()
    {
        var n = Network("c", "10.57.0.0/24", "10.57.0.1");
        for (int i = 0; i < 60; i++) Container("c" + i);
        var results = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 60, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            // Each worker its own store over the same file, like separate sessions.
            var own = new NetworkStore(new StateDb(dir.Combine("state.db")));
            results.Add(own.Allocate(n, "c" + i, null, [], "v" + i).Address);
        });
        Assert.Equal(60, results.Distinct().Count());
    }

    [Fact]
    public void Ports_are_unique_per_protocol_and_go_with_the_container()
    {
        Container("c1");
        Container("c2");
        store.InsertPorts("c1", [new PortMapping("0.0.0.0", 8080, 80, "tcp"), new PortMapping("0.0.0.0", 8080, 80, "udp")]);
        Assert.Equal("PortAllocated", Assert.Throws<EngineException>(() => store.InsertPorts("c2", [new PortMapping("0.0.0.0", 9090, 80, "tcp"), new PortMapping("127.0.0.1", 8080, 81, "tcp")])).ErrorId);
        Assert.Empty(store.PortsOf("c2")); // all or nothing
        Assert.True(store.PortRecorded(8080, "udp"));
        db.Write((c, tx) => c.Execute(tx, "DELETE FROM containers WHERE id = 'c1'"));
        Assert.False(store.PortRecorded(8080, "tcp"));
    }
}
