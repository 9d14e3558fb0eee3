using System.Text;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>The container endpoints that stream: wait (headers at once, the body at the exit), logs and attach
/// (docker's multiplexed frames; attach on a hijacked connection, with stdin and resize for a container with a terminal).</summary>
public static class ContainerStreamEndpoints
{
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
            // dockerd sends the headers at once, so a client knows the wait is in place before it starts the container:
            // the state it waits from is taken before they go (a missing container is still a 404).
            var waiting = s.BeginWait(s.ResolveId(id), condition);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            JsonObject answer;
            try
            {
                var result = await Task.Run(() => waiting(ctx.RequestAborted), ctx.RequestAborted);
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
            var c = s.Get(id); // resolves now: a missing container is a 404
            var records = s.Logs(c.Id, query, ctx.RequestAborted);
            // A TTY container's log is the terminal's output, one stream: dockerd sends it raw, and the CLI (which
            // looks at Config.Tty) copies it as it is rather than reading frames.
            ctx.Response.ContentType = ApiVersion.StreamContentType(multiplexed: !c.Tty);
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            await Pump(records, ctx.Response.Body, timestamps, framed: !c.Tty, ctx.RequestAborted);
        });

        app.MapPost("/containers/{id}/attach", async (HttpContext ctx, string id) =>
        {
            var r = ctx.Request;
            bool stdin = Query.Bool(r, "stdin"), stdout = Query.Bool(r, "stdout"), stderr = Query.Bool(r, "stderr");
            bool stream = Query.Bool(r, "stream"), logs = Query.Bool(r, "logs");
            // docker attach/run --detach-keys; none: docker's ctrl-p,ctrl-q. A bad sequence is a 400 before anything else.
            byte[] detachKeys = DetachKeys.Parse(Query.String(r, "detachKeys"));
            var c = s.Get(id);
            var earlier = logs ? s.Logs(c.Id, new LogQuery { Stdout = stdout, Stderr = stderr }, ctx.RequestAborted).ToList() : [];
            if (c.Tty)
            {
                // Registered before the 101 goes out: a client starts the container as soon as it has it.
                using var terminal = stream ? s.AttachTerminal(c.Id) : null;
                await HijackedStream.Serve(ctx, tty: true, async (input, output, cancel) =>
                {
                    foreach (var record in earlier) await output(OutputStream.Terminal, Encoding.UTF8.GetBytes(record.Line + "\n"), cancel);
                    // stdin only for a container made with it open (docker run -i): dockerd drops the client's bytes otherwise.
                    if (terminal is not null)
                        await terminal.RelayAsync(stdin && c.Interactive ? input : null, stdout || stderr ? output : (_, _, _) => ValueTask.CompletedTask, detachKeys, cancel);
                }, endOnHangUp: true);
                return;
            }
            // Without a terminal: the output from the log, and for a container made with -i (OpenStdin) the client's
            // bytes into the stdin pipe its monitor holds. Both registered before the 101, as above.
            using var session = stream ? s.Attach(c.Id, stdout, stderr) : null;
            using var stdinAttach = stream && stdin && c.Interactive ? s.AttachStdin(c.Id) : null;
            await HijackedStream.Serve(ctx, tty: false, async (input, output, cancel) =>
            {
                await Pump(earlier, output, cancel);
                if (session is null) return;
                using var done = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                // No detach keys without a terminal (dockerd copies such stdin as it is): a ctrl-p ctrl-q pair in
                // binary input is data, not the end of the attach.
                var relaying = stdinAttach is not null && input is not null ? RelayStdin(stdinAttach, input, [], c.StdinOnce, done) : Task.CompletedTask;
                try
                {
                    await Pump(session.Read(done.Token), output, done.Token);
                }
                catch (OperationCanceledException) when (done.IsCancellationRequested && !cancel.IsCancellationRequested)
                {
                    // the client detached, or its input ended on a container without StdinOnce
                }
                await done.CancelAsync();
                await relaying;
            }, endOnHangUp: true);
        });

        app.MapPost("/containers/{id}/resize", (HttpRequest r, string id) =>
        {
            s.ResizeTerminal(id, Query.Int(r, "h") ?? 0, Query.Int(r, "w") ?? 0);
            return Results.Ok();
        });
    }

    /// <summary>
    /// The client's stdin to the container's. As dockerd: the detach keys end the attach; so does the end of the
    /// input, unless the container has StdinOnce (its stdin closed with it): then the output goes on to the exit.
    /// </summary>
    private static async Task RelayStdin(ContainerService.StdinAttach attach, Stream input, byte[] detachKeys, bool stdinOnce, CancellationTokenSource done)
    {
        var end = await attach.RelayAsync(input, detachKeys, done.Token);
        if (end == ContainerService.StdinEnd.Detached || (end == ContainerService.StdinEnd.InputClosed && !stdinOnce))
            await done.CancelAsync();
    }

    /// <summary>Writes records, each line with its newline, reading the (blocking) source on a pool thread.</summary>
    private static async Task Pump(IEnumerable<ContainerLogRecord> records, OutputWriter output, CancellationToken cancel)
    {
        using var enumerator = records.GetEnumerator();
        while (await Task.Run(enumerator.MoveNext, cancel))
        {
            var record = enumerator.Current;
            await output(record.Stream == "stderr" ? OutputStream.Stderr : OutputStream.Stdout, Encoding.UTF8.GetBytes(record.Line + "\n"), cancel);
        }
    }

    /// <summary>Writes records, each line with its newline, as frames (or raw for a TTY container), reading the
    /// (blocking) source on a pool thread.</summary>
    internal static async Task Pump(IEnumerable<ContainerLogRecord> records, Stream output, bool timestamps, bool framed, CancellationToken cancel)
    {
        using var enumerator = records.GetEnumerator();
        while (await Task.Run(enumerator.MoveNext, cancel))
        {
            var record = enumerator.Current;
            string text = (timestamps ? DockerJson.Rfc3339Nano(record.Time) + " " : "") + record.Line + "\n";
            if (framed) await FrameWriter.WriteAsync(output, record.Stream == "stderr" ? StreamType.Stderr : StreamType.Stdout, text, cancel);
            else
            {
                await output.WriteAsync(Encoding.UTF8.GetBytes(text), cancel);
                await output.FlushAsync(cancel);
            }
        }
    }
}
