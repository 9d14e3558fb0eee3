using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;

namespace PSContainer.Api;

/// <summary>
/// GET /events: the engine's recorded events (those of cmdlet sessions and of this server alike, one events log per
/// state root) as JSON lines in docker's shape, from since; then new ones as they happen until until passes or the
/// client leaves. Headers go out at once: the docker CLI waits for them before it reads a line.
/// </summary>
public static class EventEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        app.MapGet("/events", async (HttpContext ctx) =>
        {
            var r = ctx.Request;
            DateTime? since = Query.UnixTime(r, "since"), until = Query.UnixTime(r, "until");
            if (since is DateTime s && until is DateTime u && u < s) throw ApiException.BadParameter("since must be before until");
            // Filters are checked here: a bad one is a 400 before any answer.
            var events = state.Containers.Events(since, until, Query.Filters(r), ctx.RequestAborted);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            using var enumerator = events.GetEnumerator();
            while (await Task.Run(enumerator.MoveNext, ctx.RequestAborted))
            {
                await ctx.Response.WriteAsync(ToJson(enumerator.Current).ToJsonString() + "\n", ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        });
    }

    /// <summary>docker's events.Message: Type, Action, Actor, scope, time, timeNano; status, id and from for clients older than API 1.22.</summary>
    public static JsonObject ToJson(ContainerEvent e)
    {
        var attributes = new JsonObject();
        foreach (var (k, v) in e.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)) attributes[k] = v;
        long nanos = (e.Time.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;
        var json = new JsonObject();
        if (e.Type == "container")
        {
            json["status"] = e.Action;
            json["id"] = e.Id;
            if (e.Attributes.TryGetValue("image", out var image)) json["from"] = image;
        }
        json["Type"] = e.Type;
        json["Action"] = e.Action;
        json["Actor"] = new JsonObject { ["ID"] = e.Id, ["Attributes"] = attributes };
        json["scope"] = "local";
        json["time"] = nanos / 1_000_000_000;
        json["timeNano"] = nanos;
        return json;
    }
}
