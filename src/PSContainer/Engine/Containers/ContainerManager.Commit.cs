using System.Text.Json.Nodes;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Containers;

/// <summary>What ConvertTo-ContainerImage makes of a container (docker commit's options).</summary>
public sealed class CommitOptions
{
    /// <summary>The new image's name (repository[:tag]); none leaves it untagged, as docker commit does.</summary>
    public string? Reference { get; init; }
    public IReadOnlyList<string> Changes { get; init; } = [];
    public string? Author { get; init; }
    public string? Message { get; init; }
    /// <summary>Freeze a running container while its changes are read (docker commit --pause, the default).</summary>
    public bool Pause { get; init; } = true;
    public IProgress<ProgressInfo>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
}

// docker commit: a container's upper directory becomes a layer on top of its image's.
public sealed partial class ContainerManager
{
    public ContainerImage Commit(string idOrName, CommitOptions options)
    {
        var tags = new List<ImageReference>();
        if (options.Reference is { Length: > 0 } reference)
        {
            if (!ImageReference.TryParse(reference, true, out var parsed, out string? why) || parsed!.Digest is not null)
                throw new EngineException("InvalidReference", ErrorKind.InvalidArgument, reference, $"'{reference}' is not a valid image name: {why ?? "a digest cannot be a new image's name"}.");
            tags.Add(parsed);
        }
        var record = Resolve(idOrName);
        var image = images.Find(record.ImageId)
                    ?? throw new EngineException("ImageNotFound", ErrorKind.ObjectNotFound, record.Image, $"The image of container {record.Name} ({record.ImageId}) is no longer in the store.");
        var config = JsonNode.Parse(images.Blobs.ReadAll(Digest.Parse(image.Id)))!.AsObject();
        var run = config["config"] as JsonObject ?? new JsonObject();
        ApplyContainerSettings(run, record);
        CommitChanges.Apply(run, options.Changes);
        config["config"] = run;
        if (options.Author is not null) config["author"] = options.Author;
        config.Remove("container");
        config.Remove("container_config");

        bool paused = false;
        if (options.Pause && ReconcileIfIdle(record) is { State: ContainerState.Running })
        {
            Pause(record.Id);
            paused = true;
        }
        string temp = Path.Combine(paths.Temp, TempOwner.NewName("commit"));
        try
        {
            using (LockContainer(record.Id))
            {
                record = Current(record.Id, idOrName);
                var maps = MapsOfRecorded(record);
                long bytes = 0;
                using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 17);
                UpperLayer.Write(Path.Combine(ContainerDir(record.Id), "upper"), file,
                    maps is null ? null : id => ToContainerId(maps.Uid, id), maps is null ? null : id => ToContainerId(maps.Gid, id),
                    n => Report(new CopyOptions { Progress = options.Progress }, ref bytes, n, $"Reading the changes of {record.Name}"), options.Cancel);
                file.Flush(flushToDisk: true);
            }
            if (paused)
            {
                Resume(record.Id);
                paused = false;
            }
            var history = new HistoryEntry
            {
                Created = DateTimeOffset.UtcNow,
                CreatedBy = string.Join(' ', record.Command),
                Comment = options.Message,
            };
            return new ImageImporter(images, options.Progress, options.Cancel).ImportCommit(temp, image, config, history, tags);
        }
        finally
        {
            if (paused) Resume(record.Id);
            File.Delete(temp);
        }
    }

    /// <summary>
    /// The container's own run settings that docker commit keeps in the new image: its command, entrypoint,
    /// environment, user and working directory where they differ from the image's (given at New-Container).
    /// </summary>
    private static void ApplyContainerSettings(JsonObject run, ContainerRecord record)
    {
        var o = record.Options;
        if (o.Entrypoint is { } entrypoint)
        {
            run["Entrypoint"] = new JsonArray(entrypoint.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
            run.Remove("Cmd");
        }
        if (o.Command is { Length: > 0 } command) run["Cmd"] = new JsonArray(command.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
        if (o.Environment.Count > 0)
        {
            var env = (run["Env"] as JsonArray)?.Select(e => e!.GetValue<string>()).ToList() ?? [];
            foreach (var (k, v) in o.Environment)
            {
                env.RemoveAll(e => e == k || e.StartsWith(k + "=", StringComparison.Ordinal));
                env.Add(k + "=" + v);
            }
            run["Env"] = new JsonArray(env.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());
        }
        if (o.User is { Length: > 0 } user) run["User"] = user;
        if (o.WorkingDirectory is { Length: > 0 } cwd) run["WorkingDir"] = cwd;
    }
}
