using System.Globalization;
using System.Text.Json.Nodes;
using PSContainer.Engine.Networks;
using PSContainer.Engine.Services;
using PSContainer.Engine.Volumes;

namespace PSContainer.Api;

/// <summary>Networks, volumes and disk usage in the JSON shapes of the Docker Engine API (v1.41 schemas: Network,
/// Volume, SystemDataUsageResponse).</summary>
public static class ObjectJson
{
    /// <summary>GET /networks/{id} (with the running containers) and each entry of GET /networks (without: dockerd's list leaves them out).</summary>
    public static JsonObject Network(NetworkDetails d, bool withContainers)
    {
        var n = d.Network;
        var config = new JsonArray();
        if (n.Subnet.Length > 0)
        {
            var c = new JsonObject { ["Subnet"] = n.Subnet, ["Gateway"] = n.Gateway };
            if (n.IPRange is { } range) c["IPRange"] = range;
            config.Add(c);
        }
        var containers = new JsonObject();
        if (withContainers)
        {
            string prefix = n.Subnet.Length > 0 ? "/" + Subnet.Parse(n.Subnet).PrefixLength.ToString(CultureInfo.InvariantCulture) : "";
            // dockerd lists the endpoints that exist, which are those of running containers.
            foreach (var e in d.Endpoints.Where(e => e.Active))
                containers[e.ContainerId] = new JsonObject
                {
                    ["Name"] = e.ContainerName,
                    ["EndpointID"] = e.ContainerId + "-" + e.NetworkId,
                    ["MacAddress"] = "",
                    ["IPv4Address"] = e.Address + prefix,
                    ["IPv6Address"] = "",
                };
        }
        return new JsonObject
        {
            ["Name"] = n.Name,
            ["Id"] = n.Id,
            ["Created"] = DockerJson.Time(n.Created),
            ["Scope"] = "local",
            ["Driver"] = n.Driver,
            ["EnableIPv6"] = false,
            ["IPAM"] = new JsonObject { ["Driver"] = "default", ["Options"] = null, ["Config"] = config },
            ["Internal"] = n.Internal,
            ["Attachable"] = false,
            ["Ingress"] = false,
            ["ConfigFrom"] = new JsonObject { ["Network"] = "" },
            ["ConfigOnly"] = false,
            ["Containers"] = containers,
            ["Options"] = new JsonObject(),
            ["Labels"] = DockerJson.Object(n.Labels),
        };
    }

    /// <summary>A volume (GET /volumes/{name}, POST /volumes/create, entries of GET /volumes); UsageData only in /system/df.</summary>
    public static JsonObject Volume(ContainerVolume v, VolumeDiskUsage? usage = null)
    {
        var o = new JsonObject
        {
            ["CreatedAt"] = DockerJson.Time(v.Created),
            ["Driver"] = v.Driver,
            ["Labels"] = DockerJson.Object(v.Labels),
            ["Mountpoint"] = v.Mountpoint,
            ["Name"] = v.Name,
            ["Options"] = v.Options.Count == 0 ? null : DockerJson.Object(v.Options),
            ["Scope"] = v.Scope,
        };
        if (usage is not null) o["UsageData"] = new JsonObject { ["Size"] = usage.Size, ["RefCount"] = usage.RefCount };
        return o;
    }

    /// <summary>GET /system/df.</summary>
    public static JsonObject DiskUsage(DiskUsageReport r)
    {
        var images = new JsonArray();
        foreach (var i in r.Images)
        {
            var o = DockerJson.ImageSummary(i.Image, i.Containers);
            o["SharedSize"] = i.SharedSize;
            images.Add(o);
        }
        var containers = new JsonArray();
        foreach (var c in r.Containers)
        {
            var o = DockerJson.Summary(c.Details);
            o["SizeRw"] = c.SizeRw;
            o["SizeRootFs"] = c.SizeRootFs;
            containers.Add(o);
        }
        return new JsonObject
        {
            ["LayersSize"] = r.LayersSize,
            ["Images"] = images,
            ["Containers"] = containers,
            ["Volumes"] = new JsonArray(r.Volumes.Select(v => (JsonNode?)Volume(v.Volume, v)).ToArray()),
            ["BuildCache"] = new JsonArray(r.BuildCache.Records.Select(b => (JsonNode?)BuildCacheJson(b)).ToArray()),
            ["BuilderSize"] = r.BuildCache.BuilderSize,
        };
    }

    /// <summary>One of system df's BuildCache entries in docker's (BuildKit's) shape.</summary>
    private static JsonObject BuildCacheJson(BuildCacheRecord b) => new()
    {
        ["ID"] = b.Id,
        ["Parents"] = null,
        ["Type"] = b.Type,
        ["Description"] = b.Description,
        ["InUse"] = b.InUse,
        ["Shared"] = b.Shared,
        ["Size"] = b.Size,
        ["CreatedAt"] = DockerJson.Time(b.CreatedAt),
        ["LastUsedAt"] = b.LastUsedAt is DateTime used ? DockerJson.Time(used) : null,
        ["UsageCount"] = b.UsageCount,
    };
}
