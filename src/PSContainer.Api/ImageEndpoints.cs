using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Images;

namespace PSContainer.Api;

/// <summary>Images: list, inspect, pull (POST /images/create with streamed JSON progress), tag, remove. Image names
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
            await PullStream.Run(ctx, images, parsed, Query.String(r, "platform"));
        });

        app.MapMethods("/images/{**rest}", ["GET", "POST", "DELETE"], (HttpContext ctx, string rest) =>
        {
            string method = ctx.Request.Method;
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
