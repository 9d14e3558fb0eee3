using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>Images: list, inspect, pull (POST /images/create with streamed JSON progress), tag, remove, history, prune;
/// push (RegistryEndpoints), save and load (ImageArchiveEndpoints). Image names
/// hold slashes and colons (127.0.0.1:5000/lib/app:1), so the paths after /images/ are split here, not by the router.</summary>
public static class ImageEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        var images = state.Images;

        app.MapGet("/images/json", (HttpRequest r) =>
        {
            var inUse = state.Engine.Containers.List().GroupBy(c => c.ImageId).ToDictionary(g => g.Key, g => g.Count());
            var filters = Query.Filters(r);
            var list = images.List().Where(i => Matches(i, filters)); // no parent chains here: nothing is an intermediate image that -a would add
            return Results.Json(new JsonArray(list.Select(i => (JsonNode?)DockerJson.ImageSummary(i, inUse.GetValueOrDefault(i.Id))).ToArray()));
        });

        app.MapPost("/images/create", async (HttpContext ctx) =>
        {
            var r = ctx.Request;
            if (Query.String(r, "fromSrc") is not null) throw ApiException.NotImplemented("importing an image from a tarball (docker import) is not served by this API yet");
            string from = Query.String(r, "fromImage") ?? throw ApiException.BadParameter("fromImage is required");
            string? tag = Query.String(r, "tag");
            string reference = tag is null ? from : tag.StartsWith("sha256:", StringComparison.Ordinal) ? from + "@" + tag : from + ":" + tag;
            var parsed = ImageReference.Parse(reference); // a bad name is a 400 before the stream begins
            await PullStream.Run(ctx, images, parsed, Query.String(r, "platform"), RegistryAuth.FromHeader(r));
        });

        app.MapPost("/images/prune", (HttpRequest r) => Results.Json(PruneAnswer(images.Prune(PruneFilter(Query.Filters(r))))));
        ImageArchiveEndpoints.Map(app, state);

        app.MapMethods("/images/{**rest}", ["GET", "POST", "DELETE"], async Task<IResult> (HttpContext ctx, string rest) =>
        {
            string method = ctx.Request.Method;
            if (method == "POST" && rest.EndsWith("/push", StringComparison.Ordinal))
            {
                await RegistryEndpoints.Push(ctx, images, rest[..^"/push".Length]);
                return Results.Empty;
            }
            if (method == "GET" && rest.EndsWith("/get", StringComparison.Ordinal))
            {
                await ImageArchiveEndpoints.Save(ctx, images, [rest[..^"/get".Length]]);
                return Results.Empty;
            }
            if (method == "GET" && rest.EndsWith("/history", StringComparison.Ordinal))
                return Results.Json(new JsonArray(images.History(rest[..^"/history".Length]).Select(h => (JsonNode?)HistoryLine(h)).ToArray()));
            if (method == "DELETE")
            {
                var result = images.Remove(rest, Query.Bool(ctx.Request, "force"));
                var answer = new JsonArray();
                foreach (string u in result.Untagged) answer.Add(new JsonObject { ["Untagged"] = u });
                foreach (string d in result.Deleted) answer.Add(new JsonObject { ["Deleted"] = d });
                return Results.Json(answer);
            }
            if (method == "GET" && rest.EndsWith("/json", StringComparison.Ordinal))
                return Results.Json(DockerJson.ImageInspect(images.Get(rest[..^"/json".Length])));
            if (method == "POST" && rest.EndsWith("/tag", StringComparison.Ordinal))
            {
                string repo = Query.String(ctx.Request, "repo") ?? throw ApiException.BadParameter("repo is required");
                string target = Query.String(ctx.Request, "tag") is { } t ? repo + ":" + t : repo;
                images.Tag(rest[..^"/tag".Length], target);
                return Results.StatusCode(StatusCodes.Status201Created);
            }
            throw ApiException.NotImplemented($"{method} /images/{rest} is not served by PSContainer's Docker API yet");
        });
    }

    private static JsonObject HistoryLine(ImageHistoryEntry h) => new()
    {
        ["Id"] = h.Id,
        ["Created"] = h.Created?.ToUnixTimeSeconds() ?? 0,
        ["CreatedBy"] = h.CreatedBy,
        ["Tags"] = h.Tags.Count == 0 ? null : new JsonArray(h.Tags.Select(t => (JsonNode?)t).ToArray()),
        ["Size"] = h.Size,
        ["Comment"] = h.Comment,
    };

    /// <summary>docker image prune's filters: dangling (true: untagged only, the default; false: every unused image), until, label, label!.</summary>
    private static ImagePruneFilter PruneFilter(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (string key in filters.Keys)
            if (key is not ("dangling" or "until" or "label" or "label!"))
                throw ApiException.BadParameter($"invalid filter '{key}'");
        bool dangling = true;
        if (filters.GetValueOrDefault("dangling") is { Count: > 0 } d)
        {
            dangling = d[0].ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw ApiException.BadParameter($"invalid filter 'dangling={d[0]}'"),
            };
        }
        DateTime? until = filters.GetValueOrDefault("until") is { Count: > 0 } u ? PruneUntil(u[0]) : null;
        return new ImagePruneFilter(dangling, until, filters.GetValueOrDefault("label"), filters.GetValueOrDefault("label!"));
    }

    /// <summary>until as docker takes it: a Go duration back from now (24h), Unix seconds, or an RFC 3339 time.</summary>
    private static DateTime PruneUntil(string text)
    {
        if (Duration.TryParse(text, out var ago, out _)) return DateTime.UtcNow - ago;
        if (decimal.TryParse(text, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out decimal seconds))
            return DateTime.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
            return at.UtcDateTime;
        throw ApiException.BadParameter($"invalid filter 'until={text}': a duration (24h), Unix seconds or an RFC 3339 time");
    }

    private static JsonObject PruneAnswer(ImagePruneReport report)
    {
        var deleted = new JsonArray();
        foreach (string u in report.Untagged) deleted.Add(new JsonObject { ["Untagged"] = u });
        foreach (string d in report.Deleted) deleted.Add(new JsonObject { ["Deleted"] = d });
        return new JsonObject { ["ImagesDeleted"] = deleted.Count == 0 ? null : deleted, ["SpaceReclaimed"] = report.SpaceReclaimed };
    }

    private static bool Matches(ContainerImage i, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            if (values.Count == 0) continue;
            bool any = key switch
            {
                "reference" => values.Any(v => i.RepoTags.Any(t => t == v || t.StartsWith(v + ":", StringComparison.Ordinal) || System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(v, t))),
                "label" => values.Any(v => v.IndexOf('=') is int eq and > 0 ? i.Config.Labels.TryGetValue(v[..eq], out var x) && x == v[(eq + 1)..] : i.Config.Labels.ContainsKey(v)),
                "dangling" => values.Any(v => (v == "true") == (i.RepoTags.Length == 0)),
                _ => throw new EngineException("InvalidFilter", ErrorKind.InvalidArgument, key, $"Invalid filter '{key}'"),
            };
            if (!any) return false;
        }
        return true;
    }
}
