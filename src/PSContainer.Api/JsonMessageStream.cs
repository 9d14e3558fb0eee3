using System.Text.Json.Nodes;
using System.Threading.Channels;
using PSContainer.Engine;
using PSContainer.Engine.Images;

namespace PSContainer.Api;

/// <summary>
/// dockerd's streamed answers (pull, push, load): 200 at once, then one JSON message per line, and a failure as
/// {"errorDetail": {"message"}, "error"} in the stream, which the CLI shows and exits non-zero on. The engine work runs
/// on a pool thread; what it queues is written as it comes.
/// </summary>
public static class JsonMessageStream
{
    public static async Task Run(HttpContext ctx, Action<ChannelWriter<JsonObject>> work)
    {
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        var lines = Channel.CreateUnbounded<JsonObject>();
        var worker = Task.Run(() =>
        {
            try
            {
                work(lines.Writer);
            }
            catch (EngineException e)
            {
                lines.Writer.TryWrite(Error(e.Message));
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // The client went away: nobody reads an error line.
            }
            catch (IOException e)
            {
                lines.Writer.TryWrite(Error(e.Message));
            }
            finally
            {
                lines.Writer.TryComplete();
            }
        });
        await foreach (var line in lines.Reader.ReadAllAsync(ctx.RequestAborted))
        {
            await ctx.Response.WriteAsync(line.ToJsonString() + "\r\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
        await worker;
    }

    public static JsonObject Status(string status, string? id = null)
    {
        var line = new JsonObject { ["status"] = status };
        if (id is not null) line["id"] = id;
        return line;
    }

    public static JsonObject Error(string message) => new() { ["errorDetail"] = new JsonObject { ["message"] = message }, ["error"] = message };

    /// <summary>Engine progress reports (id 0: the whole operation, others: a layer or config blob each) as docker's progress lines.</summary>
    public sealed class LayerProgress(ChannelWriter<JsonObject> writer) : IProgress<ProgressInfo>
    {
        private readonly Dictionary<int, string> lastStatus = new();

        public void Report(ProgressInfo value)
        {
            if (value.Id == 0) return; // the operation as a whole: its first and last lines are written by the endpoint
            lock (lastStatus)
            {
                // One line per change of a layer's status, and byte counts at most every percent.
                string key = value.Status + (value.Total > 0 ? "/" + value.Percent : "");
                if (lastStatus.TryGetValue(value.Id, out var last) && last == key) return;
                lastStatus[value.Id] = key;
            }
            // docker names a layer by its short digest alone ("0216d5f5212a: Downloading").
            int space = value.Activity.IndexOf(' ');
            string id = value.Activity.StartsWith("Layer ", StringComparison.Ordinal) || value.Activity.StartsWith("Config ", StringComparison.Ordinal)
                ? value.Activity[(space + 1)..] : value.Activity;
            var line = Status(value.Status, id);
            if (value.Total > 0 && !value.Completed)
                line["progressDetail"] = new JsonObject { ["current"] = value.Done, ["total"] = value.Total };
            writer.TryWrite(line);
        }
    }
}
