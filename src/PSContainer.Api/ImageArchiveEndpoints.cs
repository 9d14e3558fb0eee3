using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>
/// docker save and docker load: GET /images/{name}/get and GET /images/get?names=… answer the engine's docker-archive
/// (what docker load into a real dockerd accepts); POST /images/load takes one and streams "Loaded image: …" lines.
/// </summary>
public static class ImageArchiveEndpoints
{
    public static void Map(WebApplication app, ApiState state)
    {
        app.MapGet("/images/get", (HttpContext ctx) =>
        {
            var names = ctx.Request.Query["names"].Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList();
            if (names.Count == 0) throw ApiException.BadParameter("names is required: the images to save");
            return Save(ctx, state.Images, names);
        });

        app.MapPost("/images/load", (HttpContext ctx) =>
        {
            // An image archive is as large as the image: no request body limit (Kestrel's default is 30 MB).
            if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
            return JsonMessageStream.Run(ctx, lines =>
            {
                foreach (var image in state.Images.Load(ctx.Request.Body, ctx.RequestAborted))
                {
                    if (image.RepoTags.Length == 0) lines.TryWrite(Stream($"Loaded image ID: {image.Id}\n"));
                    foreach (string tag in image.RepoTags) lines.TryWrite(Stream($"Loaded image: {tag}\n"));
                }
            });
        });
    }

    private static JsonObject Stream(string text) => new() { ["stream"] = text };

    /// <summary>
    /// Every name is resolved before the answer starts (a missing image is a 404); the archive is then written
    /// straight into the response. A failure once bytes went out can only cut the connection, which docker save
    /// reports as an unexpected EOF rather than taking a short file for an archive.
    /// </summary>
    public static async Task Save(HttpContext ctx, ImageService images, IReadOnlyList<string> names)
    {
        var selection = images.SaveSelection(names);
        ctx.Response.ContentType = "application/x-tar";
        // The exporter writes its tar synchronously (TarWriter); it runs on a pool thread, never on Kestrel's.
        ctx.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await Task.Run(() => images.Save(selection, ctx.Response.Body, ctx.RequestAborted));
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }
}
