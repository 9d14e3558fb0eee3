using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>The container endpoints that stream: wait (headers at once, the body at the exit), logs and attach
/// (docker's multiplexed frames; attach on a hijacked connection).</summary>
public static class ContainerStreamEndpoints
{
    public const string RawStream = "application/vnd.docker.raw-stream";

    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Containers;

        app.MapPost("/containers/{id}/wait", async (HttpContext ctx, string id) =>
        {
            var condition = Query.String(ctx.Request, "condition") switch
            {
                null or "not-running" => WaitCondition.NotRunning,
                "next-exit" => WaitCondition.NextExit,
                "removed" => WaitCondition.Removed,
                var c => throw ApiException.BadParameter($"invalid condition: \"{c}\""),
            };
            string full = s.ResolveId(id);
            // dockerd sends the headers at once, so a client knows the wait is in place before it starts the container.
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            JsonObject answer;
            try
            {
                var result = await Task.Run(() => s.Wait(full, condition, ctx.RequestAborted), ctx.RequestAborted);
                answer = new JsonObject { ["StatusCode"] = result.StatusCode, ["Error"] = result.Error is null ? null : new JsonObject { ["Message"] = result.Error } };
            }
            catch (PSContainer.Engine.EngineException e)
            {
                answer = new JsonObject { ["StatusCode"] = -1, ["Error"] = new JsonObject { ["Message"] = e.Message } };
            }
            await ctx.Response.WriteAsync(answer.ToJsonString() + "\n", ctx.RequestAborted);
        });

        app.MapGet("/containers/{id}/logs", async (HttpContext ctx, string id) =>
        {
            var r = ctx.Request;
            var query = new LogQuery
            {
                Stdout = Query.Bool(r, "stdout"),
                Stderr = Query.Bool(r, "stderr"),
                Follow = Query.Bool(r, "follow"),
                Tail = Query.String(r, "tail") is null or "all" ? null : Query.Int(r, "tail"),
                Since = Query.UnixTime(r, "since"),
                Until = Query.UnixTime(r, "until"),
            };
            if (!query.Stdout && !query.Stderr) throw ApiException.BadParameter("Bad parameters: you must choose at least one stream");
            bool timestamps = Query.Bool(r, "timestamps");
            var records = s.Logs(id, query, ctx.RequestAborted); // resolves now: a missing container is a 404
            ctx.Response.ContentType = ApiVersion.StreamContentType(multiplexed: true);
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            await Pump(records, ctx.Response.Body, timestamps, ctx.RequestAborted);
        });

        app.MapPost("/containers/{id}/attach", async (HttpContext ctx, string id) =>
        {
            var r = ctx.Request;
            if (Query.Bool(r, "stdin")) throw ApiException.NotImplemented("attaching stdin is not served by this API yet (docker run -i, docker attach)");
            bool stdout = Query.Bool(r, "stdout"), stderr = Query.Bool(r, "stderr");
            bool stream = Query.Bool(r, "stream"), logs = Query.Bool(r, "logs");
            var upgrade = ctx.Features.Get<IHttpUpgradeFeature>();
            if (upgrade is null || !upgrade.IsUpgradableRequest)
                throw ApiException.BadParameter("attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp), as the docker CLI sends");
            string full = s.ResolveId(id);
            // Registered before the 101 goes out: a client starts the container as soon as it has it.
            using var session = stream ? s.Attach(full, stdout, stderr) : null;
            var earlier = logs ? s.Logs(full, new LogQuery { Stdout = stdout, Stderr = stderr }, ctx.RequestAborted).ToList() : [];
            ctx.Response.Headers.ContentType = RawStream;
            ctx.Response.Headers.Upgrade = "tcp";
            HalfCloseConnection.MarkHijacked(ctx);
            await using var connection = await upgrade.UpgradeAsync();
            // Not RequestAborted: a client without stdin half-closes its side at once (the docker CLI does), which
            // Kestrel reports as an abort. The client is gone only when a write to it fails (or the server stops).
            using var gone = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
            try
            {
                await Pump(earlier, connection, timestamps: false, gone.Token);
                if (session is not null) await Pump(session.Read(gone.Token), connection, timestamps: false, gone.Token);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            {
                gone.Cancel();
            }
        });
    }

    /// <summary>Writes records as frames, each line with its newline, reading the (blocking) source on a pool thread.</summary>
    internal static async Task Pump(IEnumerable<ContainerLogRecord> records, Stream output, bool timestamps, CancellationToken cancel)
    {
        using var enumerator = records.GetEnumerator();
        while (await Task.Run(enumerator.MoveNext, cancel))
        {
            var record = enumerator.Current;
            string prefix = timestamps ? DockerJson.Rfc3339Nano(record.Time) + " " : "";
            await FrameWriter.WriteAsync(output, record.Stream == "stderr" ? StreamType.Stderr : StreamType.Stdout, prefix + record.Line + "\n", cancel);
        }
    }
}
