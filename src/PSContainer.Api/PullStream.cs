using System.Text.Json.Nodes;
using System.Threading.Channels;
using PSContainer.Engine;
using PSContainer.Engine.Images;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>
/// POST /images/create as dockerd answers it: 200 at once, then one JSON object per line (status, id,
/// progressDetail), and a failure as {"errorDetail": {"message"}, "error"} in the stream, which the CLI shows.
/// </summary>
public static class PullStream
{
    public static async Task Run(HttpContext ctx, ImageService images, ImageReference reference, string? platform)
    {
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        var lines = Channel.CreateUnbounded<JsonObject>();
        var progress = new Progress(lines.Writer);
        string tag = reference.Tag ?? reference.Digest?.ToString() ?? "latest";
        await Write(ctx, new JsonObject { ["status"] = $"Pulling from {reference.Path}", ["id"] = tag });
        var pull = Task.Run(() =>
        {
            try
            {
                string? before = images.Find(reference.ToString())?.Id;
                var image = images.Pull(reference.ToString(), platform, progress, ctx.RequestAborted);
                lines.Writer.TryWrite(new JsonObject { ["status"] = "Digest: " + image.ManifestDigest });
                string familiar = reference.FamiliarString;
                lines.Writer.TryWrite(new JsonObject { ["status"] = before == image.Id ? $"Status: Image is up to date for {familiar}" : $"Status: Downloaded newer image for {familiar}" });
            }
            catch (EngineException e)
            {
                lines.Writer.TryWrite(new JsonObject { ["errorDetail"] = new JsonObject { ["message"] = e.Message }, ["error"] = e.Message });
            }
            finally
            {
                lines.Writer.TryComplete();
            }
        });
        await foreach (var line in lines.Reader.ReadAllAsync(ctx.RequestAborted)) await Write(ctx, line);
        await pull;
    }

    private static async Task Write(HttpContext ctx, JsonObject line)
    {
        await ctx.Response.WriteAsync(line.ToJsonString() + "\r\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    /// <summary>Engine progress reports (id 0: the pull, others: a layer each) as docker's progress lines.</summary>
    private sealed class Progress(ChannelWriter<JsonObject> writer) : IProgress<ProgressInfo>
    {
        private readonly Dictionary<int, string> lastStatus = new();

        public void Report(ProgressInfo value)
        {
            if (value.Id == 0) return; // the pull as a whole: its first and last lines are written by Run
            lock (lastStatus)
            {
                // One line per change of a layer's status, and byte counts at most every percent.
                string key = value.Status + (value.Total > 0 ? "/" + value.Percent : "");
                if (lastStatus.TryGetValue(value.Id, out var last) && last == key) return;
                lastStatus[value.Id] = key;
            }
            // docker names a layer by its short digest alone ("0216d5f5212a: Downloading").
            string id = value.Activity.StartsWith("Layer ", StringComparison.Ordinal) ? value.Activity["Layer ".Length..] : value.Activity;
            var line = new JsonObject { ["status"] = value.Status, ["id"] = id };
            if (value.Total > 0 && !value.Completed)
                line["progressDetail"] = new JsonObject { ["current"] = value.Done, ["total"] = value.Total };
            writer.TryWrite(line);
        }
    }
}
