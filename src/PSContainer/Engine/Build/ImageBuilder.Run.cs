using System.Text.Json;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Build;

// RUN: a real container of ours on the stage's image, its upper directory the step's layer.
public sealed partial class ImageBuilder
{
    private bool Run(StageState state, DockerfileInstruction i)
    {
        var argv = RunCommand(state, i);
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in state.Args)
            if (value is not null) env[name] = value;
        foreach (string e in state.Env)
        {
            int eq = e.IndexOf('=');
            if (eq > 0) env[e[..eq]] = e[(eq + 1)..];
        }
        var (volumes, tmpfs, mountKey, writableCopies) = RunMounts(state, i);
        string key = BuildCache.Key(state.CacheKey, "RUN", JsonSerializer.Serialize(argv), JsonSerializer.Serialize(env),
            state.User, state.WorkingDir, mountKey, options.Network);
        if (TryCached(state, key)) return true;

        var parent = Materialize(state, []);
        var run = new ContainerOptions
        {
            Image = parent.Id,
            Name = "build-" + Guid.NewGuid().ToString("N")[..16],
            Entrypoint = [.. argv],
            Environment = new Dictionary<string, string>(env),
            WorkingDirectory = state.WorkingDir,
            User = state.User.Length > 0 ? state.User : null,
            Network = options.Network == "default" ? "bridge" : options.Network,
            Volumes = volumes,
            Tmpfs = tmpfs,
            Healthcheck = new HealthConfig { Test = ["NONE"] },
            Labels = BuildContainers.Labels("step"),
        };
        string? id = null;
        string layer = TempPath("build-run", ".tar");
        try
        {
            // A writable bind gets a copy of the context path (without what .dockerignore names): what the step
            // writes there is discarded, as BuildKit discards it, and never reaches the user's files.
            foreach (var (host, copy) in writableCopies) StageTree(host, copy, fromContext: true, [], paths.Temp, i.Line);
            id = containers.Create(run).Id;
            containers.Start(id);
            foreach (var record in containers.Logs(id, follow: true, options.Cancel))
                options.Output?.Invoke(record.Line.TrimEnd('\n', '\r'), record.Stream);
            int code = containers.Wait(id, options.Cancel).ExitCode;
            if (code != 0)
                throw new DockerfileException("BuildStepFailed", i.Line,
                    $"RUN {Shorten(i.Arguments)} did not complete successfully: exit code {code}.", ErrorKind.InvalidOperation) { ExitCode = code };
            using (var file = new FileStream(layer, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 17))
            {
                UpperLayer.Write(containers.UpperDir(id), file, null, null, null, options.Cancel);
                file.Flush(flushToDisk: true);
            }
            containers.Remove(id, force: true, removeVolumes: true);
            id = null;
            CommitLayer(state, key, layer, "RUN " + string.Join(' ', argv) + " # buildkit");
            return false;
        }
        finally
        {
            bool stepStillThere = false;
            if (id is not null)
            {
                try
                {
                    containers.Remove(id, force: true, removeVolumes: true);
                }
                catch (EngineException)
                {
                    // A step that may still run may still write into its bind copies: they are left to the sweep of
                    // this process's temporaries once it has exited (TempOwner), not deleted under it.
                    stepStillThere = true;
                    // The step's own error is the one to report; Repair-ContainerState removes the container once this
                    // process has exited (BuildContainers).
                }
            }
            File.Delete(layer);
            foreach (var (_, copy) in stepStillThere ? [] : writableCopies)
            {
                if (Directory.Exists(copy)) Storage.LayerStore.DeleteTree(copy);
                else File.Delete(copy); // a bound file (or a link): nothing to do if it was never made
            }
        }
    }

    private static string Shorten(string text)
    {
        string line = text.Split('\n')[0];
        return line.Length > 80 ? line[..77] + "..." : line;
    }

    /// <summary>
    /// The argv of a RUN: the JSON form as written; the shell form through SHELL; a RUN that is only a heredoc runs
    /// the heredoc's body as the script; a command with heredocs gets them back as shell heredocs.
    /// </summary>
    private static List<string> RunCommand(StageState state, DockerfileInstruction i)
    {
        if (i.Json is { Count: > 0 } json) return [.. json];
        if (i.Heredocs.Count == 0)
        {
            if (i.Arguments.Length == 0) throw new DockerfileException("MissingArguments", i.Line, "RUN needs a command.");
            return [.. state.Shell, i.Arguments];
        }
        string withoutDocs = System.Text.RegularExpressions.Regex.Replace(i.Arguments, @"<<-?[""']?[A-Za-z_][A-Za-z0-9_.-]*[""']?", "").Trim();
        if (withoutDocs.Length == 0 && i.Heredocs.Count == 1) return [.. state.Shell, i.Heredocs[0].Content];
        var script = new System.Text.StringBuilder(i.Arguments);
        foreach (var doc in i.Heredocs) script.Append('\n').Append(doc.Content).Append(doc.Name);
        return [.. state.Shell, script.ToString()];
    }

    /// <summary>
    /// RUN --mount: type=cache (a directory under build-cache/mounts kept across builds, by id or target),
    /// type=bind (a context path, read-only; with rw a copy made for the step), type=tmpfs. The key part names what the mounts are and, for a
    /// bind of the context, what it holds.
    /// </summary>
    private (List<string> Volumes, List<string> Tmpfs, string Key, List<(string Host, string Copy)> WritableCopies) RunMounts(StageState state, DockerfileInstruction i)
    {
        var volumes = new List<string>();
        var writableCopies = new List<(string, string)>();
        var tmpfs = new List<string>();
        var key = new List<string>();
        foreach (string spec in i.FlagValues("mount"))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string part in ShellWords.Word(spec, state.Lookup, escape).Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=');
                fields[eq < 0 ? part : part[..eq]] = eq < 0 ? "true" : part[(eq + 1)..];
            }
            string type = fields.GetValueOrDefault("type", "bind");
            string? target = fields.GetValueOrDefault("target") ?? fields.GetValueOrDefault("dst") ?? fields.GetValueOrDefault("destination");
            if (target is null) throw new DockerfileException("InvalidMount", i.Line, $"--mount={spec} needs target=PATH.");
            if (!target.StartsWith('/')) target = state.WorkingDir.TrimEnd('/') + "/" + target;
            switch (type)
            {
                case "cache":
                    string id = fields.GetValueOrDefault("id") ?? target;
                    volumes.Add(cache.MountDirectory(id) + ":" + target);
                    key.Add("cache:" + id + ":" + target);
                    break;
                case "bind":
                    if (fields.ContainsKey("from"))
                        throw new DockerfileException("UnsupportedMount", i.Line, "--mount=type=bind,from=... is not supported; bind a path of the build context, or COPY --from the stage.", ErrorKind.NotInstalled);
                    string source = fields.GetValueOrDefault("source") ?? fields.GetValueOrDefault("src") ?? ".";
                    string host = ContextPath(source, i.Line);
                    bool rw = fields.ContainsKey("rw") || fields.ContainsKey("readwrite");
                    string bound = host;
                    if (rw)
                    {
                        bound = TempPath("build-bind");
                        writableCopies.Add((host, bound));
                    }
                    volumes.Add(bound + ":" + target + (rw ? "" : ":ro"));
                    key.Add("bind:" + source + ":" + target + ":" + rw + ":" + ContextDigest.Of(host, context, ignore, fileDigests));
                    break;
                case "tmpfs":
                    tmpfs.Add(target);
                    key.Add("tmpfs:" + target);
                    break;
                default:
                    throw new DockerfileException("UnsupportedMount", i.Line, $"--mount type={type} is not supported (cache, bind and tmpfs are).", ErrorKind.NotInstalled);
            }
        }
        return (volumes, tmpfs, string.Join('\n', key), writableCopies);
    }
}
