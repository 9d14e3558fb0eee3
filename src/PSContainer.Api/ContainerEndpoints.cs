using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>The container endpoints that answer with one JSON document or a status (list, create, inspect,
/// start, stop, restart, kill, remove). Each maps its request onto <see cref="ContainerService"/>.</summary>
public static class ContainerEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Containers;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("psc-api");

        app.MapGet("/containers/json", (HttpRequest r) =>
        {
            var query = new ContainerQuery { All = Query.Bool(r, "all"), Limit = Query.Int(r, "limit"), Filters = Query.Filters(r) };
            return Results.Json(new JsonArray(s.ListDetails(query).Select(d => (JsonNode?)DockerJson.Summary(d)).ToArray()));
        });

        app.MapPost("/containers/create", async (HttpRequest r) =>
        {
            using var body = await JsonDocument.ParseAsync(r.Body, cancellationToken: r.HttpContext.RequestAborted);
            var options = CreateRequestMapper.Map(body.RootElement, Query.String(r, "name"));
            try
            {
                var created = s.Create(options);
                var warnings = new JsonArray(s.TakeWarnings().Select(w => (JsonNode?)JsonValue.Create(w)).ToArray());
                return Results.Json(new JsonObject { ["Id"] = created.Id, ["Warnings"] = warnings }, statusCode: StatusCodes.Status201Created);
            }
            catch (EngineException e) when (e.ErrorId == "ImageNotFound")
            {
                // The docker CLI pulls on a 404 and creates again; the message is dockerd's.
                string shown = ImageReference.TryParse(options.Image, defaultTag: true, out var parsed, out _) ? parsed!.FamiliarString : options.Image;
                throw new ApiException(StatusCodes.Status404NotFound, $"No such image: {shown}");
            }
        });

        app.MapGet("/containers/{id}/json", (string id) =>
        {
            var d = s.Inspect(id);
            var inspect = DockerJson.Inspect(d, state.Images.Find(d.Container.ImageId));
            EndpointAddresses.Fill(inspect, d.Endpoints.Count == 0 ? [] : state.Engine.Containers.Networks.List());
            return Results.Json(inspect);
        });

        app.MapPost("/containers/{id}/start", (string id) =>
        {
            bool started = s.Start(id);
            // The start API has no warnings field; the engine's list must not grow for the life of the server.
            foreach (string w in s.TakeWarnings()) log.LogWarning("start {Id}: {Warning}", id, w);
            return started ? Results.NoContent() : Results.StatusCode(StatusCodes.Status304NotModified);
        });

        app.MapPost("/containers/{id}/stop", (string id, HttpRequest r) =>
        {
            return s.Stop(id, Timeout(r), StopSignal(r)) ? Results.NoContent() : Results.StatusCode(StatusCodes.Status304NotModified);
        });

        app.MapPost("/containers/{id}/restart", (string id, HttpRequest r) =>
        {
            s.Restart(id, Timeout(r), StopSignal(r));
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/kill", (string id, HttpRequest r) =>
        {
            s.Kill(id, Query.String(r, "signal"));
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/pause", (string id) =>
        {
            s.Pause(id);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/unpause", (string id) =>
        {
            s.Unpause(id);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/rename", (string id, HttpRequest r) =>
        {
            s.Rename(id, Query.String(r, "name") ?? throw ApiException.BadParameter("name is required"));
            return Results.NoContent();
        });

        app.MapGet("/containers/{id}/top", (string id, HttpRequest r) =>
        {
            if (Query.String(r, "ps_args") is { } args && args != "-ef")
                throw ApiException.NotImplemented($"ps_args '{args}' is not supported: the processes are read from /proc in ps -ef's columns");
            var processes = new JsonArray();
            foreach (var p in s.Top(id))
            {
                processes.Add(new JsonArray(
                    p.User,
                    p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    p.ParentPid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "0",
                    p.StartTime.ToLocalTime().ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture),
                    "?",
                    p.CpuTime.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture),
                    p.Command));
            }
            return Results.Json(new JsonObject
            {
                ["Titles"] = new JsonArray("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"),
                ["Processes"] = processes,
            });
        });

        app.MapDelete("/containers/{id}", (string id, HttpRequest r) =>
        {
            if (Query.Bool(r, "link")) throw ApiException.NotImplemented("removing a link (docker rm --link) is not supported: PSContainer has no links");
            s.Remove(id, Query.Bool(r, "force"), Query.Bool(r, "v"));
            return Results.NoContent();
        });
    }

    /// <summary>1.42 added ?signal= to stop and restart (docker stop -s): the signal sent in place of the container's
    /// StopSignal, SIGKILL still following after the timeout. Older versions had no such parameter: ignored there.</summary>
    private static string? StopSignal(HttpRequest r) =>
        ApiVersion.RequestedAtLeast(1, 42) && Query.String(r, "signal") is { Length: > 0 } signal ? signal : null;

    /// <summary>docker stop -t: seconds (t, or signal-free "timeout" in newer clients); null = the container's own.</summary>
    private static TimeSpan? Timeout(HttpRequest r) =>
        (Query.Int(r, "t") ?? Query.Int(r, "timeout")) is int t ? (t < 0 ? null : TimeSpan.FromSeconds(t)) : null;
}
