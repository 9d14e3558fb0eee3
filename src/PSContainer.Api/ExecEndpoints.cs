using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;

namespace PSContainer.Api;

/// <summary>docker exec, detached (docker exec -d): create, start, inspect. Attached execs are refused (see create).</summary>
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
            if (True("Tty")) throw ApiException.BadParameter("PSContainer cannot honour Tty for exec: not served by this API yet");
            if (True("AttachStdin")) throw ApiException.BadParameter("PSContainer cannot honour AttachStdin for exec (docker exec -i): not served by this API yet");
            if (True("Privileged")) throw ApiException.BadParameter("PSContainer cannot honour Privileged for exec: not supported");
            // The docker CLI starts an attached exec with a POST that has a JSON body and Upgrade: tcp; Kestrel ignores
            // an upgrade of a request with a body (aspnetcore#17081), so there would be no 101 to give. Refused here,
            // where the CLI shows the message, rather than at the start, where it shows only the status.
            if (True("AttachStdout") || True("AttachStderr"))
                throw ApiException.NotImplemented("an attached exec (docker exec without -d) is not served yet: its start request has a body, " +
                    "which the server cannot upgrade to the raw stream; use docker exec -d, or Invoke-ContainerCommand");
            string[] cmd = e.TryGetProperty("Cmd", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (e.TryGetProperty("Env", out var ev) && ev.ValueKind == JsonValueKind.Array)
                foreach (string kv in ev.EnumerateArray().Select(x => x.GetString() ?? ""))
                    env[kv.Split('=')[0]] = kv.Contains('=') ? kv[(kv.IndexOf('=') + 1)..] : "";
            var exec = s.CreateExec(id, new ExecOptions { Command = cmd, Environment = env, User = Text("User"), WorkingDirectory = Text("WorkingDir") });
            return Results.Json(new JsonObject { ["Id"] = exec.Id }, statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/exec/{id}/start", async (HttpContext ctx, string id) =>
        {
            bool detach = false;
            if (ctx.Request.ContentLength is > 0 || ctx.Request.Headers.ContentType.Count > 0)
            {
                using var body = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
                var e = body.RootElement;
                if (e.ValueKind == JsonValueKind.Object)
                {
                    if (e.TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True) throw ApiException.BadParameter("PSContainer cannot honour Tty for exec: not served by this API yet");
                    detach = e.TryGetProperty("Detach", out var d) && d.ValueKind == JsonValueKind.True;
                }
            }
            if (!detach) throw ApiException.NotImplemented("an attached exec start is not served yet: use Detach");
            // Detached: the exec runs to its end on the pool, not tied to this request (its output is dropped, as dockerd's).
            var records = s.StartExec(id, CancellationToken.None);
            var lifetime = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>();
            _ = Task.Run(() => { foreach (var _ in records) { } }, lifetime.ApplicationStopping);
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
                ["OpenStdin"] = false,
                ["OpenStdout"] = true,
                ["OpenStderr"] = true,
                ["CanRemove"] = false,
                ["DetachKeys"] = "",
                ["Pid"] = 0,
                ["ProcessConfig"] = new JsonObject
                {
                    ["tty"] = false,
                    ["entrypoint"] = e.Options.Command.FirstOrDefault() ?? "",
                    ["arguments"] = new JsonArray(e.Options.Command.Skip(1).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                    ["privileged"] = false,
                    ["user"] = e.Options.User ?? "",
                },
            });
        });
    }
}
