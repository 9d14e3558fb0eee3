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
        var mounts = RunMounts(state, i);
        string key = BuildCache.Key(state.CacheKey, "RUN", JsonSerializer.Serialize(argv), JsonSerializer.Serialize(env),
            state.User, state.WorkingDir, string.Join('\n', mounts.Key), options.Network);
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
            Volumes = mounts.Volumes,
            Tmpfs = mounts.Tmpfs,
            Healthcheck = new HealthConfig { Test = ["NONE"] },
            Labels = BuildContainers.Labels("step"),
        };
        string? id = null;
        string layer = TempPath("build-run", ".tar");
        // sharing=locked: one step at a time, across builds, in the order of the paths (no two steps wait on each other).
        var locks = new List<IDisposable>();
        try
        {
            foreach (string directory in mounts.Locks) locks.Add(Native.FileLock.Acquire(directory + ".lock", exclusive: true));
            // A writable bind gets a copy of the context path (without what .dockerignore names): what the step
            // writes there is discarded, as BuildKit discards it, and never reaches the user's files.
            PrepareMounts(mounts, i.Line);
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
                WriteRunLayer(state, containers.UpperDir(id), file, mounts.Targets);
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
            if (!stepStillThere) DeleteMountCopies(mounts);
            foreach (var held in locks) held.Dispose();
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

    /// <summary>The step's upper directory as its layer, without the mount points its mounts needed.</summary>
    private void WriteRunLayer(StageState state, string upper, Stream output, IReadOnlyList<string> targets)
    {
        var stubs = targets.Count == 0 ? [] : MountStubs(state, upper, targets);
        UpperLayer.Write(upper, output, null, null, null, options.Cancel, (path, _) => stubs.Contains(path));
    }
}
