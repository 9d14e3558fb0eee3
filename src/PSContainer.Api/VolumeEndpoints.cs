using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Services;
using PSContainer.Engine.Volumes;

namespace PSContainer.Api;

/// <summary>docker volume ls/create/inspect/rm/prune over <see cref="VolumeService"/>.</summary>
public static class VolumeEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Volumes;

        app.MapGet("/volumes", (HttpRequest r) => Results.Json(new JsonObject
        {
            ["Volumes"] = new JsonArray(s.List(Query.Filters(r)).Select(v => (JsonNode?)ObjectJson.Volume(v)).ToArray()),
            ["Warnings"] = null,
        }));

        app.MapPost("/volumes/create", async (HttpRequest r) =>
        {
            var (doc, body) = await RequestBody.ReadAsync(r);
            using (doc)
            {
                var o = new VolumeCreateOptions();
                foreach (var p in body.Fields(body.Root))
                {
                    switch (p.Name)
                    {
                        case "Name": o.Name = RequestBody.String(p.Value); break;
                        case "Driver": o.Driver = RequestBody.String(p.Value) ?? "local"; break;
                        // The local driver's options the engine knows (type, device, o); others it refuses by name.
                        case "DriverOpts": o.Options = body.Map(p.Value); break;
                        case "Labels": o.Labels = body.Map(p.Value); break;
                        default: body.Refuse(p.Name, p.Value); break;
                    }
                }
                body.ThrowIfRefused("volume");
                return Results.Json(ObjectJson.Volume(s.Create(o)), statusCode: StatusCodes.Status201Created);
            }
        });

        app.MapGet("/volumes/{name}", (string name) => Results.Json(ObjectJson.Volume(s.Get(name))));

        app.MapDelete("/volumes/{name}", (string name, HttpRequest r) =>
        {
            s.Remove(name, Query.Bool(r, "force"));
            return Results.NoContent();
        });

        app.MapPost("/volumes/prune", (HttpRequest r) =>
        {
            var result = s.Prune(Query.Filters(r), anonymousByDefault: ApiVersion.RequestedAtLeast(1, 42));
            return Results.Json(new JsonObject
            {
                ["VolumesDeleted"] = DockerJson.Array(result.VolumesDeleted),
                ["SpaceReclaimed"] = result.SpaceReclaimed,
            });
        });

        // docker system df, and docker container prune (what the other prunes sit beside in docker system prune).
        app.MapGet("/system/df", () => Results.Json(ObjectJson.DiskUsage(state.DiskUsage.Report())));

        app.MapPost("/containers/prune", (HttpRequest r) =>
        {
            var result = state.Containers.Prune(Query.Filters(r));
            return Results.Json(new JsonObject
            {
                ["ContainersDeleted"] = DockerJson.Array(result.ContainersDeleted),
                ["SpaceReclaimed"] = result.SpaceReclaimed,
            });
        });
    }
}
