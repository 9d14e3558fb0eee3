using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>docker exec: create, start (detached, or attached on a hijacked connection, with or without a TTY), resize, inspect.</summary>
public static class ExecEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Containers;

        app.MapPost("/containers/{id}/exec", async (HttpRequest r, string id) =>
        {
            using var body = await JsonDocument.ParseAsync(r.Body, cancellationToken: r.HttpContext.RequestAborted);
            var e = body.RootElement;
            bool True(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
            string? Text(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } t ? t : null;
            if (True("Privileged")) throw ApiException.BadParameter("PSContainer cannot honour Privileged for exec: not supported");
            string[] cmd = e.TryGetProperty("Cmd", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (e.TryGetProperty("Env", out var ev) && ev.ValueKind == JsonValueKind.Array)
                foreach (string kv in ev.EnumerateArray().Select(x => x.GetString() ?? ""))
                    env[kv.Split('=')[0]] = kv.Contains('=') ? kv[(kv.IndexOf('=') + 1)..] : "";
            // docker exec --detach-keys; none: dockerd's ctrl-p,ctrl-q. A bad sequence is a 400 before the exec is made.
            var streams = new ExecStreams
            {
                Stdin = True("AttachStdin"), Stdout = True("AttachStdout"), Stderr = True("AttachStderr"), Tty = True("Tty"),
                DetachKeys = DetachKeys.Parse(Text("DetachKeys")),
            };
            var exec = s.CreateExec(id, new ExecOptions { Command = cmd, Environment = env, User = Text("User"), WorkingDirectory = Text("WorkingDir") }, streams);
            // API 1.42's ConsoleSize [rows, columns]: the terminal's size from its start.
            if (streams.Tty && e.TryGetProperty("ConsoleSize", out var size) && size.ValueKind == JsonValueKind.Array && size.GetArrayLength() == 2
                && size[0].TryGetInt32(out int rows) && size[1].TryGetInt32(out int columns) && rows > 0 && columns > 0)
                s.ResizeExec(exec.Id, rows, columns);
            return Results.Json(new JsonObject { ["Id"] = exec.Id }, statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/exec/{id}/start", async (HttpContext ctx, string id) =>
        {
            // The docker CLI's body comes in a header when the connection was upgraded (see UpgradeRequestHead).
            byte[]? moved = UpgradeRequestHead.MovedBody(ctx.Request);
            bool detach = false;
            if (moved is not null || ctx.Request.ContentLength is > 0 || ctx.Request.Headers.ContentType.Count > 0)
            {
                using var body = moved is not null ? JsonDocument.Parse(moved) : await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
                var e = body.RootElement;
                // Its Tty only tells the client how to read the stream; the exec's own setting (from create) decides.
                if (e.ValueKind == JsonValueKind.Object) detach = e.TryGetProperty("Detach", out var d) && d.ValueKind == JsonValueKind.True;
            }
            var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            var run = s.StartExec(id); // a start that fails is an error answer, before any stream
            if (detach)
            {
                // Runs to its end on the pool, not tied to this request; its output is dropped, as dockerd's.
                _ = Task.Run(async () =>
                {
                    using (run) await run.CopyAsync(null, (_, _, _) => ValueTask.CompletedTask, stopping);
                }, CancellationToken.None);
                return;
            }
            using (run) await HijackedStream.Serve(ctx, run.Exec.Streams.Tty, (input, output, cancel) => run.CopyAsync(input, output, cancel));
        });

        app.MapPost("/exec/{id}/resize", (HttpRequest r, string id) =>
        {
            s.ResizeExec(id, Query.Int(r, "h") ?? 0, Query.Int(r, "w") ?? 0);
            return Results.Ok();
        });

        app.MapGet("/exec/{id}/json", (string id) =>
        {
            var e = s.GetExec(id);
            return Results.Json(new JsonObject
            {
                ["ID"] = e.Id,
                ["ContainerID"] = e.ContainerId,
                ["Running"] = e.Running,
                ["ExitCode"] = e.ExitCode,
                ["OpenStdin"] = e.Streams.Stdin,
                ["OpenStdout"] = e.Streams.Stdout,
                ["OpenStderr"] = e.Streams.Stderr,
                ["CanRemove"] = false,
                ["DetachKeys"] = "",
                ["Pid"] = e.Pid,
                ["ProcessConfig"] = new JsonObject
                {
                    ["tty"] = e.Streams.Tty,
                    ["entrypoint"] = e.Options.Command.FirstOrDefault() ?? "",
                    ["arguments"] = new JsonArray(e.Options.Command.Skip(1).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                    ["privileged"] = false,
                    ["user"] = e.Options.User ?? "",
                },
            });
        });
    }
}
