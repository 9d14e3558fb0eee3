using PSContainer.Engine.Images;

namespace PSContainer.Engine.Build;

// RUN --mount: what each mount binds, what part of it the step's cache key holds, and what it leaves to clean up.
public sealed partial class ImageBuilder
{
    /// <summary>A bind of a path of an earlier stage or an image: copied out of it once the step is known to run.</summary>
    private sealed record StageBind(ContainerImage Image, string From, string Path, string Target, bool ReadWrite);

    /// <summary>The mounts of one RUN: volumes and tmpfs for the container, the key part, and the work done only when the step runs.</summary>
    private sealed class RunMountPlan
    {
        public List<string> Volumes { get; } = [];
        public List<string> Tmpfs { get; } = [];
        public List<string> Key { get; } = [];
        /// <summary>Context paths a writable bind gets a copy of (what the step writes there is discarded).</summary>
        public List<(string Host, string Copy)> WritableCopies { get; } = [];
        public List<StageBind> StageBinds { get; } = [];
        /// <summary>Every mount target: the runtime's mount points there are not the step's changes.</summary>
        public List<string> Targets { get; } = [];
        /// <summary>Temp paths the step's mounts use, deleted after it.</summary>
        public List<string> Temporaries { get; } = [];
        /// <summary>Cache directories the step holds alone while it runs (sharing=locked).</summary>
        public SortedSet<string> Locks { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// RUN --mount: type=cache (a directory under build-cache/mounts kept across builds, by id or target),
    /// type=bind (a context path, or with from= a path of a stage or an image; read-only, with rw a copy made for the
    /// step and discarded), type=tmpfs, type=secret (a file given by -Secret, bound read-only at /run/secrets/ID:
    /// its content is in no layer and not in the key, only whether it was given). type=ssh is refused.
    /// </summary>
    private RunMountPlan RunMounts(StageState state, DockerfileInstruction i)
    {
        var plan = new RunMountPlan();
        foreach (string text in i.FlagValues("mount"))
        {
            var spec = RunMountSpec.Parse(ShellWords.Word(text, state.Lookup, escape), state.WorkingDir, i.Line);
            string target = spec.Target;
            plan.Targets.Add(target);
            switch (spec.Type)
            {
                case "cache":
                    string id = spec.Id ?? target;
                    string directory = cache.MountDirectory(id);
                    plan.Volumes.Add(directory + ":" + target + (spec.ReadOnly ? ":ro" : ""));
                    if (spec.Locked) plan.Locks.Add(directory);
                    plan.Key.Add("cache:" + id + ":" + target);
                    break;
                case "bind" when spec.From is { } from:
                {
                    string fromName = ShellWords.Word(from, state.Lookup, escape);
                    var (image, sourceKey) = ResolveFrom(state, fromName);
                    string source = spec.Source ?? "/";
                    plan.StageBinds.Add(new StageBind(image, fromName, source.StartsWith('/') ? source : "/" + source, target, spec.ReadWrite));
                    plan.Key.Add("bind-from:" + sourceKey + ":" + source + ":" + target + ":" + spec.ReadWrite);
                    break;
                }
                case "bind":
                {
                    string source = spec.Source ?? ".";
                    string host = ContextPath(source, i.Line);
                    string bound = host;
                    if (spec.ReadWrite)
                    {
                        bound = TempPath("build-bind");
                        plan.WritableCopies.Add((host, bound));
                    }
                    plan.Volumes.Add(bound + ":" + target + (spec.ReadWrite ? "" : ":ro"));
                    plan.Key.Add("bind:" + source + ":" + target + ":" + spec.ReadWrite + ":" + ContextDigest.Of(host, context, ignore, fileDigests));
                    break;
                }
                case "tmpfs":
                    plan.Tmpfs.Add(target);
                    plan.Key.Add("tmpfs:" + target);
                    break;
                case "secret":
                {
                    string secretId = spec.Id!;
                    if (secrets.TryGetValue(secretId, out string? file))
                    {
                        if (!File.Exists(file))
                            throw new DockerfileException("SecretNotFound", i.Line, $"the secret '{secretId}' names {file}, which is not a file.", ErrorKind.ObjectNotFound);
                        plan.Volumes.Add(file + ":" + target + ":ro");
                    }
                    else if (spec.Required)
                        throw new DockerfileException("SecretNotFound", i.Line, $"the step needs the secret '{secretId}': give it with -Secret @{{ {secretId} = 'path' }}.", ErrorKind.ObjectNotFound);
                    // Whether it was given, never what it holds: a changed secret does not rerun the step (BuildKit's rule).
                    plan.Key.Add("secret:" + secretId + ":" + target + ":" + secrets.ContainsKey(secretId));
                    break;
                }
                default:
                    throw new DockerfileException("UnsupportedMount", i.Line, $"--mount type={spec.Type} is not supported (cache, bind, tmpfs and secret are).", ErrorKind.NotInstalled);
            }
        }
        return plan;
    }

    /// <summary>Makes what a running step's mounts need: copies of context paths for rw binds, stage paths copied out.</summary>
    private void PrepareMounts(RunMountPlan plan, int line)
    {
        foreach (var (host, copy) in plan.WritableCopies) StageTree(host, copy, fromContext: true, [], paths.Temp, line, new());
        foreach (var bind in plan.StageBinds)
        {
            string temp = TempPath("build-bind");
            plan.Temporaries.Add(temp);
            Directory.CreateDirectory(temp);
            string host = CopyPathOut(bind.Image, bind.From, bind.Path, temp, line);
            if (new FileInfo(host).LinkTarget is not null)
            {
                // A link of the stage (/data -> /etc) is copied as a link, and the host's mount(2) would follow it on
                // the host: the directory it names inside the stage is copied instead ("link/." resolves in its root).
                string resolved = Path.Combine(temp, "resolved");
                Directory.CreateDirectory(resolved);
                try
                {
                    CopyPathOut(bind.Image, bind.From, bind.Path.TrimEnd('/') + "/.", resolved, line);
                }
                catch (EngineException e) when (e.ErrorId == "NotADirectory")
                {
                    throw new DockerfileException("BindSourceIsLink", line, $"--mount from={bind.From}: {bind.Path} is a symbolic link to a file in that stage; name the file it links to.", ErrorKind.InvalidArgument, e);
                }
                host = resolved;
            }
            plan.Volumes.Add(host + ":" + bind.Target + (bind.ReadWrite ? "" : ":ro"));
        }
    }

    /// <summary>Deletes the copies a step's mounts used.</summary>
    private static void DeleteMountCopies(RunMountPlan plan)
    {
        foreach (string path in plan.WritableCopies.Select(c => c.Copy).Concat(plan.Temporaries))
        {
            if (Directory.Exists(path)) Storage.LayerStore.DeleteTree(path);
            else File.Delete(path); // a bound file (or a link): nothing to do if it was never made
        }
    }

    /// <summary>
    /// Upper-directory entries that are the runtime's mount points for the step's mounts, not the step's changes: each
    /// target, and each directory made only to hold one (absent from the stage's layers, holding nothing else).
    /// </summary>
    private HashSet<string> MountStubs(StageState state, string upper, IReadOnlyList<string> targets)
    {
        var stubs = new HashSet<string>(StringComparer.Ordinal);
        foreach (string target in targets)
        {
            string relative = DockerIgnore.Clean(target.TrimStart('/'));
            if (relative is "." or "") continue;
            stubs.Add(relative);
        }
        foreach (string target in stubs.ToList())
        {
            string? parent = Path.GetDirectoryName(target);
            while (!string.IsNullOrEmpty(parent) && !stubs.Contains(parent) && LowerPath(state, "/" + parent) is null)
            {
                string dir = Path.Combine(upper, parent);
                if (new FileInfo(dir).LinkTarget is not null || !Directory.Exists(dir)) break;
                string p = parent;
                if (!Directory.EnumerateFileSystemEntries(dir).All(e => stubs.Contains(p + "/" + Path.GetFileName(e)))) break;
                stubs.Add(parent);
                parent = Path.GetDirectoryName(parent);
            }
        }
        return stubs;
    }
}
