using System.Text.Json;
using System.Text.Json.Nodes;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Oci;
using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Build;

/// <summary>
/// docker build, daemonless: reads the Dockerfile, builds the stages the target needs in order, each RUN in a real
/// container of ours whose overlayfs upper directory becomes the step's layer (the same writer as commit), each
/// COPY/ADD as a layer written from a staged tree, metadata steps as config changes. Every layer step's result is
/// an image in the store named by its cache key (<see cref="BuildCache"/>), so a rebuild with nothing changed only
/// hashes the context and re-tags. A failed step removes its container and temp files before the error leaves.
/// </summary>
public sealed partial class ImageBuilder
{
    private readonly ContainerManager containers;
    private readonly ImageStore images;
    private readonly StatePaths paths;
    private readonly ImagePull pull;
    private readonly BuildCache cache;
    private BuildOptions options = new();
    private string context = "";
    private DockerIgnore ignore = DockerIgnore.Empty;
    private FileDigestCache? fileDigests;
    private char escape = '\\';
    private IReadOnlyList<BuildStage> stages = [];
    private readonly Dictionary<int, StageState> built = [];
    private readonly Dictionary<string, string?> globalArgs = new(StringComparer.Ordinal);
    private BuildPlatform targetPlatform = BuildPlatform.Host;
    private Dictionary<string, string> platformArgs = [];
    private int step, steps;
    private Dictionary<string, string> secrets = [];

    public ImageBuilder(ContainerManager containers, ImageStore images, StatePaths paths, ImagePull pull)
    {
        this.containers = containers;
        this.images = images;
        this.paths = paths;
        this.pull = pull;
        cache = new BuildCache(paths);
    }

    public ContainerImage Build(BuildOptions buildOptions)
    {
        options = buildOptions;
        context = Path.GetFullPath(options.ContextDirectory);
        if (!Directory.Exists(context))
            throw new EngineException("ContextNotFound", ErrorKind.ObjectNotFound, options.ContextDirectory, $"The build context '{options.ContextDirectory}' is not a directory.");
        // The real path once: sources are resolved to real paths, and .dockerignore patterns match them relative to
        // this; a context reached through a symlink would otherwise match nothing (../../… paths) and ignore nothing.
        context = RealPath(context, 0);
        var tags = ParseTags(options.Tags);
        if (options.Network is not ("none" or "bridge" or "host" or "default"))
            throw new EngineException("InvalidBuildNetwork", ErrorKind.InvalidArgument, options.Network, $"'{options.Network}' is not a build network: none, bridge or host.");
        string dockerfile = options.Dockerfile is { Length: > 0 } f ? (Path.IsPathRooted(f) ? f : Path.Combine(context, f)) : Path.Combine(context, "Dockerfile");
        var file = DockerfileParser.ParseFile(dockerfile);
        escape = file.Escape;
        foreach (string note in file.Notes) options.Note?.Invoke(note);
        ignore = DockerIgnore.ReadFrom(context);
        Directory.CreateDirectory(paths.Temp);

        targetPlatform = options.Platform is { Length: > 0 } requested ? BuildPlatform.Parse(requested, 0) : BuildPlatform.Host;
        platformArgs = BuildPlatform.PredefinedArgs(targetPlatform);
        var (global, all) = BuildStages.Split(file);
        stages = all;
        foreach (var arg in global) DeclareArgs(arg, globalArgs, GlobalArg);
        var needed = BuildStages.Needed(all, options.Target?.ToLowerInvariant());
        steps = needed.Sum(s => 1 + s.Instructions.Count);
        fileDigests = FileDigestCache.Load(cache, trust: !options.NoCache);
        string? secretValues = null;
        try
        {
            secrets = new Dictionary<string, string>(options.Secrets, StringComparer.Ordinal);
            if (options.SecretValues.Count > 0) WriteSecretValues(secretValues = TempPath("build-secrets"), secrets);
            StageState? last = null;
            foreach (var stage in needed)
            {
                last = BuildStage(stage);
                built[stage.Index] = last;
            }
            return Finish(last!, tags);
        }
        finally
        {
            if (secretValues is not null && Directory.Exists(secretValues)) Storage.LayerStore.DeleteTree(secretValues);
            fileDigests.Save(paths.Temp);
        }
    }

    /// <summary>
    /// The secrets given by value as files (mode 0400 in a 0700 directory of this build's temporaries, which the sweep of
    /// a killed build's temporaries removes too) under <paramref name="dir"/>, added to <paramref name="into"/>.
    /// </summary>
    private void WriteSecretValues(string dir, Dictionary<string, string> into)
    {
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var (id, value) in options.SecretValues)
        {
            string file = Path.Combine(dir, BuildSecret.CheckId(id));
            using (var stream = new FileStream(file, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                   }))
                stream.Write(System.Text.Encoding.UTF8.GetBytes(value));
            File.SetUnixFileMode(file, UnixFileMode.UserRead);
            into[id] = file;
        }
    }

    private static List<ImageReference> ParseTags(IReadOnlyList<string> tags)
    {
        var parsed = new List<ImageReference>();
        foreach (string tag in tags)
        {
            if (!ImageReference.TryParse(tag, true, out var reference, out string? why) || reference!.Digest is not null)
                throw new EngineException("InvalidReference", ErrorKind.InvalidArgument, tag, $"'{tag}' is not a valid image name: {why ?? "a digest cannot be a tag"}.");
            parsed.Add(reference);
        }
        return parsed;
    }

    private StageState BuildStage(BuildStage stage)
    {
        var state = new StageState { Stage = stage, FixedTime = SourceDateEpoch };
        Report(stage, "FROM " + stage.From.Arguments, false);
        From(state, stage.From);
        foreach (var instruction in stage.Instructions)
        {
            options.Cancel.ThrowIfCancellationRequested();
            bool cached = Step(state, instruction);
            Report(stage, instruction.Original.Split('\n')[0], cached);
        }
        return state;
    }

    private void Report(BuildStage stage, string text, bool cached) =>
        options.Progress?.Report(new BuildProgress(++step, steps, stage.Name ?? stage.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), text, cached));

    /// <summary>Runs one instruction; true when its result came from the cache.</summary>
    private bool Step(StageState state, DockerfileInstruction i)
    {
        try
        {
            return i.Keyword switch
            {
                "RUN" => Run(state, i),
                "COPY" or "ADD" => Copy(state, i),
                "WORKDIR" => Workdir(state, i),
                _ => Metadata(state, i),
            };
        }
        catch (DockerfileException e) when (e.Line == 0)
        {
            throw new DockerfileException(e.ErrorId, i.Line, e.Message, e.Kind, e);
        }
        catch (EngineException e) when (e is not DockerfileException)
        {
            throw new DockerfileException(e.ErrorId, i.Line, $"{i.Keyword}: {e.Message}", e.Kind, e);
        }
    }

    private void From(StageState state, DockerfileInstruction from)
    {
        string raw = from.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0];
        string reference = ShellWords.Word(raw, GlobalArg, escape);
        var wanted = from.Flag("platform") is { } p ? BuildPlatform.Parse(ShellWords.Word(p, GlobalArg, escape), from.Line) : targetPlatform;
        if (!wanted.RunsOnHost)
            throw new DockerfileException("ForeignPlatform", from.Line,
                $"FROM {raw}: the platform {wanted} is not this host's ({BuildPlatform.Host}); this builder runs steps natively and has no emulation.", ErrorKind.InvalidArgument);
        string platform = wanted.ToString();
        if (reference.Length == 0) throw new DockerfileException("InvalidFrom", from.Line, $"FROM {raw} names no image.");
        if (BuildStages.Find(stages, reference, state.Stage.Index) is { } parent)
        {
            var source = built[parent.Index];
            state.Layers = [.. source.Layers];
            state.Config = source.Config.DeepClone().AsObject();
            state.PendingHistory.AddRange(source.PendingHistory);
            state.ImageId = source.ImageId;
            state.Shell = [.. source.Shell];
            state.CacheKey = source.CacheKey;
            return;
        }
        if (reference.Equals("scratch", StringComparison.OrdinalIgnoreCase))
        {
            string arch = wanted.Architecture;
            state.Config = new JsonObject
            {
                ["architecture"] = arch, ["os"] = "linux", ["config"] = new JsonObject(),
                ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() }, ["history"] = new JsonArray(),
            };
            state.CacheKey = BuildCache.Key("scratch", arch);
            return;
        }
        ImageStore.ValidateNameOrId(reference);
        var image = options.Pull ? null : images.Find(reference);
        try
        {
            image ??= pull(reference, platform, options.Cancel);
        }
        catch (EngineException e)
        {
            throw new DockerfileException("BaseImageNotFound", from.Line, $"FROM {reference}: the image is not in the store and could not be pulled: {e.Message}", ErrorKind.ObjectNotFound, e);
        }
        state.Adopt(images, image);
        string? os = state.Config["os"]?.GetValue<string>(), arch2 = state.Config["architecture"]?.GetValue<string>(), variant = state.Config["variant"]?.GetValue<string>();
        if (!wanted.Matches(os, arch2, variant))
            throw new DockerfileException("PlatformMismatch", from.Line,
                $"FROM {reference}: the image is {os}/{arch2}{(string.IsNullOrEmpty(variant) ? "" : "/" + variant)}, not {wanted}; this builder runs steps natively and has no emulation.", ErrorKind.InvalidArgument);
        state.CacheKey = BuildCache.Key("from", image.Id);
        if (state.Shell.Count > 0 && state.Run["Shell"] is JsonArray shell) state.Shell = shell.Select(s => s!.GetValue<string>()).ToList();
        RunTriggers(state, from);
    }

    /// <summary>The base image's ONBUILD triggers run right after FROM, then are cleared (docker's rule).</summary>
    private void RunTriggers(StageState state, DockerfileInstruction from)
    {
        if (state.Run["OnBuild"] is not JsonArray triggers || triggers.Count == 0) return;
        var texts = triggers.Select(t => t!.GetValue<string>()).ToList();
        state.Run.Remove("OnBuild");
        state.Changed("ONBUILD (cleared)");
        foreach (string text in texts)
        {
            var parsed = DockerfileParser.Parse(text).Instructions;
            foreach (var trigger in parsed) Step(state, trigger with { Line = from.Line });
        }
    }

    /// <summary>An argument as FROM lines and global ARGs see it: declared before the first FROM, or one of BuildKit's predefined platform arguments.</summary>
    private string? GlobalArg(string name) =>
        globalArgs.TryGetValue(name, out string? value) ? value : platformArgs.GetValueOrDefault(name);

    private void DeclareArgs(DockerfileInstruction i, Dictionary<string, string?> into, Func<string, string?> lookup)
    {
        foreach (string word in ShellWords.SplitRaw(i.Arguments, escape))
        {
            int eq = word.IndexOf('=');
            string name = eq < 0 ? word : word[..eq];
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new DockerfileException("InvalidArg", i.Line, $"ARG '{word}': '{name}' is not a variable name.");
            string? value = eq < 0 ? null : ShellWords.Word(word[(eq + 1)..], lookup, escape);
            if (options.BuildArgs.TryGetValue(name, out string? given)) value = given;
            else if (value is null && globalArgs.TryGetValue(name, out string? global)) value = global;
            // ARG TARGETARCH (and the other predefined platform arguments) in a stage takes the build's value.
            if (value is null && platformArgs.TryGetValue(name, out string? predefined)) value = predefined;
            into[name] = value;
        }
    }

    private bool Metadata(StageState state, DockerfileInstruction i)
    {
        string text = i.Arguments;
        switch (i.Keyword)
        {
            case "ARG":
                DeclareArgs(i, state.Args, state.Lookup);
                return false; // no config change; RUN's key includes the values it sees
            case "ENV":
                foreach (var (k, v) in ShellWords.Pairs(text, state.Lookup, escape, "ENV", i.Line)) state.SetEnv(k, v);
                break;
            case "LABEL":
            {
                var labels = state.Run["Labels"] as JsonObject ?? new JsonObject();
                foreach (var (k, v) in ShellWords.Pairs(text, state.Lookup, escape, "LABEL", i.Line)) labels[k] = v;
                state.Run["Labels"] = labels;
                break;
            }
            case "MAINTAINER":
                state.Config["author"] = ShellWords.Word(text, _ => null, escape);
                break;
            case "CMD":
                var cmd = CommandOf(state, i);
                state.Run["Cmd"] = Strings(cmd);
                if (cmd.Count > 0) state.CmdSet = true;
                break;
            case "ENTRYPOINT":
                state.Run["Entrypoint"] = Strings(CommandOf(state, i));
                // An ENTRYPOINT resets the CMD the base image (or an earlier stage) gave, not one this stage set.
                if (!state.CmdSet) state.Run.Remove("Cmd");
                break;
            case "SHELL":
                if (i.Json is not { Count: > 0 } shell)
                    throw new DockerfileException("InvalidShell", i.Line, "SHELL needs the JSON form: SHELL [\"executable\", \"parameters\"].");
                state.Shell = [.. shell];
                state.Run["Shell"] = Strings(shell);
                break;
            case "ONBUILD":
                var onbuild = state.Run["OnBuild"] as JsonArray ?? new JsonArray();
                onbuild.Add(text);
                state.Run["OnBuild"] = onbuild;
                break;
            case "HEALTHCHECK":
                // The parser took HEALTHCHECK's --interval/--retries/... as flags; CommitChanges reads them from the text.
                string flags = string.Join(' ', i.Flags.SelectMany(f => f.Value.Select(v => $"--{f.Key}={v}")));
                CommitChanges.ApplyOne(state.Run, ("HEALTHCHECK " + flags + " " + text).Replace("  ", " "));
                break;
            case "USER" or "STOPSIGNAL":
                CommitChanges.ApplyOne(state.Run, i.Keyword + " " + ShellWords.Word(text, state.Lookup, escape));
                break;
            case "EXPOSE":
                CommitChanges.ApplyOne(state.Run, "EXPOSE " + string.Join(' ', ShellWords.Words(text, state.Lookup, escape)));
                break;
            case "VOLUME":
                var volumes = i.Json ?? ShellWords.Words(text, state.Lookup, escape);
                CommitChanges.ApplyOne(state.Run, "VOLUME " + JsonSerializer.Serialize(volumes.Select(v => ShellWords.Word(v, state.Lookup, escape)).ToList()));
                break;
            default:
                throw new DockerfileException("UnknownInstruction", i.Line, $"unknown instruction '{i.Keyword}'.");
        }
        string createdBy = i.Keyword + " " + text;
        state.CacheKey = BuildCache.Key(state.CacheKey, "META", JsonSerializer.Serialize(state.Run), state.Config["author"]?.ToJsonString() ?? "");
        state.Changed(createdBy);
        return false;
    }

    private static IReadOnlyList<string> CommandOf(StageState state, DockerfileInstruction i) =>
        i.Json ?? (i.Arguments.Length == 0 ? [] : [.. state.Shell, i.Arguments]);

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());

    /// <summary>Writes the pending config as an image (untagged unless tags are given) and makes it the stage's image.</summary>
    private ContainerImage Materialize(StageState state, IReadOnlyList<ImageReference> tags)
    {
        if (state.ImageId is { } id && tags.Count == 0) return images.Get(id);
        var image = new ImageImporter(images, null, options.Cancel).ImportBuilt(state.Layers, null, state.Config, [.. state.PendingHistory], tags);
        state.Config = JsonNode.Parse(images.Blobs.ReadAll(Digest.Parse(image.Id)))!.AsObject();
        state.PendingHistory.Clear();
        state.ImageId = image.Id;
        return image;
    }

    private ContainerImage Finish(StageState state, List<ImageReference> tags)
    {
        if (options.Labels.Count > 0)
        {
            var labels = state.Run["Labels"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in options.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)) labels[k] = v;
            state.Run["Labels"] = labels;
            state.CacheKey = BuildCache.Key(state.CacheKey, "LABELS", JsonSerializer.Serialize(state.Run["Labels"]));
            state.ImageId = null;
        }
        string key = BuildCache.Key(state.CacheKey, "FINAL");
        if (!options.NoCache && state.ImageId is null && cache.Lookup(key) is { } cachedId && images.Find(cachedId) is { } cachedImage)
        {
            state.ImageId = cachedImage.Id;
            cache.Used(key);
        }
        ContainerImage image;
        if (state.ImageId is { } id)
        {
            image = images.Get(id);
            foreach (var tag in tags) images.AddTag(image, tag);
        }
        else image = Materialize(state, tags);
        cache.Record(key, image.Id);
        return images.Get(image.Id);
    }

    /// <summary>Looks a step up in the cache; on a hit the stage adopts the step's image.</summary>
    private bool TryCached(StageState state, string key)
    {
        if (options.NoCache || cache.Lookup(key) is not { } id || images.Find(id) is not { } image) return false;
        state.Adopt(images, image);
        state.Shell = state.Run["Shell"] is JsonArray shell ? shell.Select(s => s!.GetValue<string>()).ToList() : state.Shell;
        state.CacheKey = key;
        cache.Used(key);
        return true;
    }

    /// <summary>Stores a layer tar as the stage's next image and records it under the step's key.</summary>
    private void CommitLayer(StageState state, string key, string layerTar, string createdBy)
    {
        var history = new List<HistoryEntry>(state.PendingHistory)
        {
            new() { Created = state.Now, CreatedBy = createdBy, Comment = "buildkit.dockerfile.v0" },
        };
        var image = new ImageImporter(images, null, options.Cancel).ImportBuilt(state.Layers, layerTar, state.Config, history, []);
        state.Adopt(images, image);
        state.CacheKey = key;
        cache.Record(key, image.Id);
    }

    private string TempPath(string kind, string extension = "") => Path.Combine(paths.Temp, TempOwner.NewName(kind, extension));
}
