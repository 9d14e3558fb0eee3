using System.Text.Json.Nodes;
using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>
/// What talks to registries besides pull: docker push (POST /images/{name}/push, dispatched from ImageEndpoints),
/// docker login (POST /auth: the credentials are checked, the client keeps them) and docker search, refused.
/// </summary>
public static class RegistryEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        app.MapPost("/auth", async (HttpRequest r) =>
        {
            using var body = new MemoryStream();
            await r.Body.CopyToAsync(body, r.HttpContext.RequestAborted);
            var credential = RegistryAuth.FromJson(body.ToArray(), "the login", out string? server)
                             ?? throw ApiException.BadParameter("a login needs a username and password (or an identity token)");
            string registry = server ?? CredentialStore.DockerHubKey;
            await Task.Run(() => state.Images.VerifyLogin(registry, credential, r.HttpContext.RequestAborted));
            return Results.Json(new JsonObject { ["Status"] = "Login Succeeded", ["IdentityToken"] = "" });
        });

        // docker search asks dockerd, which asks Docker Hub's v1 search index: not something this engine queries.
        app.MapGet("/images/search", (HttpRequest r) =>
        {
            throw new ApiException(StatusCodes.Status501NotImplemented,
                $"searching registries (docker search {Query.String(r, "term")}) is not supported by PSContainer: it queries no registry search index "
                + "(Docker Hub's is online, and this engine works offline); pull or run an image by its full name instead");
        });
    }

    /// <summary>
    /// POST /images/{name}/push?tag=: "The push refers to repository [...]", a line per layer change (Preparing,
    /// Pushing with progress, Pushed, Layer already exists, Mounted from), then per tag the line docker prints,
    /// "TAG: digest: sha256:… size: N", and the aux message with the same facts.
    /// </summary>
    public static Task Push(HttpContext ctx, ImageService images, string name)
    {
        var credential = RegistryAuth.FromHeader(ctx.Request);
        var targets = images.PushTargets(name, Query.String(ctx.Request, "tag")); // an unknown image is a 404 before the stream
        return JsonMessageStream.Run(ctx, lines =>
        {
            lines.TryWrite(JsonMessageStream.Status($"The push refers to repository [{targets[0].Destination.FamiliarRepository}]"));
            var progress = new PushProgress(new JsonMessageStream.LayerProgress(lines));
            foreach (var (destination, image) in targets)
            {
                var result = images.Push(image, destination, credential, progress, ctx.RequestAborted);
                string tag = destination.Tag ?? destination.Digest?.ToString() ?? ImageReference.DefaultTag;
                long size = images.ManifestSize(image);
                lines.TryWrite(JsonMessageStream.Status($"{tag}: digest: {result.Digest} size: {size}"));
                lines.TryWrite(new JsonObject
                {
                    ["progressDetail"] = new JsonObject(),
                    ["aux"] = new JsonObject { ["Tag"] = tag, ["Digest"] = result.Digest, ["Size"] = size },
                });
            }
        });
    }

    /// <summary>The pusher's reports in docker's words: its config blob is not shown, "Checking" is "Preparing", bytes going up are "Pushing".</summary>
    private sealed class PushProgress(IProgress<ProgressInfo> inner) : IProgress<ProgressInfo>
    {
        public void Report(ProgressInfo value)
        {
            if (value.Activity.StartsWith("Config ", StringComparison.Ordinal)) return;
            string status = value.Status switch
            {
                "Checking" => "Preparing",
                "Pushed" or "Layer already exists" => value.Status,
                _ when value.Status.StartsWith("Mounted from ", StringComparison.Ordinal) => value.Status,
                _ when value.Id != 0 => "Pushing",
                _ => value.Status,
            };
            inner.Report(value with { Status = status });
        }
    }
}
