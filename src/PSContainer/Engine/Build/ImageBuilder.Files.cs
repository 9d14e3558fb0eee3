using PSContainer.Engine.Containers;
using PSContainer.Engine.Files;
using PSContainer.Native;

namespace PSContainer.Engine.Build;

// Owners, modes and parent directories of a staged COPY/ADD/WORKDIR tree, read against the stage's layers.
public sealed partial class ImageBuilder
{
    /// <summary>Where the stage's merged layers hold a path (the topmost layer's copy), or null.</summary>
    private string? LowerPath(StageState state, string path)
    {
        var lowers = state.Layers.OrderByDescending(l => l.Position).Select(l => images.Layers.DiffOf(l.ChainId)).ToList();
        return lowers.Count == 0 || path == "/" ? (lowers.Count == 0 ? null : lowers[0]) : UpperLayer.LowerPath(lowers, path);
    }

    /// <summary>The names at the root of an image's merged file system: every layer's, less what a higher layer whites out.</summary>
    private List<string> RootNames(Images.ContainerImage image)
    {
        var lowers = images.LayersOf(image.Id).OrderByDescending(l => l.Position).Select(l => images.Layers.DiffOf(l.ChainId)).ToList();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string layer in lowers.Where(Directory.Exists))
            foreach (string entry in Directory.EnumerateFileSystemEntries(layer)) names.Add(Path.GetFileName(entry));
        return names.Where(n => !n.StartsWith(".wh.", StringComparison.Ordinal) && UpperLayer.LowerPath(lowers, "/" + n) is not null).ToList();
    }

    private static FileStat? StatOf(string hostPath)
    {
        using var dir = RootedDirectory.Open(Path.GetDirectoryName(hostPath.TrimEnd('/')) ?? "/");
        using var handle = dir.OpenDirectory("", create: false);
        return handle.Stat(Path.GetFileName(hostPath.TrimEnd('/')));
    }

    /// <summary>
    /// Copied entries get the --chown owner (root for context files; a stage's own owners for --from) and their mode
    /// (or --chmod); directories on the way to the destination keep the image's owner, mode and time where the image
    /// has them, and are root's 0755 where the copy makes them.
    /// </summary>
    private void FixOwnership(StageState state, string stage, string destination, bool intoDirectory, List<StagedEntry> staged,
        (uint Uid, uint Gid)? owner, uint? chmod, NewDirectoryOwner newDirectories = NewDirectoryOwner.Destination)
    {
        using var root = RootedDirectory.Open(stage);
        foreach (var entry in staged)
        {
            string relative = Path.GetRelativePath(stage, entry.Path);
            using var parent = root.OpenDirectory(Path.GetDirectoryName(relative) ?? "", create: false);
            string name = Path.GetFileName(relative);
            var who = owner ?? (entry.Source is { } s && StatOf(s) is { } st ? (st.Uid, st.Gid) : (0u, 0u));
            parent.SetOwner(name, who.Item1, who.Item2);
            if (!entry.Link) parent.SetMode(name, entry.Directory ? chmod ?? entry.Mode : chmod ?? entry.Mode);
        }
        string[] parts = destination.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        int depth = intoDirectory ? parts.Length : parts.Length - 1;
        for (int n = depth; n >= 0; n--)
        {
            string path = "/" + string.Join('/', parts.Take(n));
            string relative = string.Join('/', parts.Take(n));
            using var parent = root.OpenDirectory(n == 0 ? "" : string.Join('/', parts.Take(n - 1)), create: false);
            string name = n == 0 ? "" : parts[n - 1];
            if (LowerPath(state, path) is { } lower && Directory.Exists(lower) && StatOf(lower) is { } existing)
            {
                parent.SetOwner(name, existing.Uid, existing.Gid);
                parent.SetMode(name, existing.Mode);
                parent.SetTimes(name, existing.Modified, existing.Modified);
            }
            else
            {
                bool owned = newDirectories switch
                {
                    NewDirectoryOwner.AllNew => n > 0,
                    NewDirectoryOwner.Destination => n == depth && intoDirectory,
                    _ => false,
                };
                var who = owned && owner is { } o ? o : (0u, 0u);
                parent.SetOwner(name, who.Item1, who.Item2);
                parent.SetMode(name, 0x1ED);
                // A directory the copy makes gets the build's fixed time, not the time it was staged, so the same
                // copy of an unchanged context is the same layer (digest) in every build.
                parent.SetTimes(name, BuildEpoch, BuildEpoch);
            }
        }
        // Through the rooted handle too: an ADD'ed tar staged after other sources may have replaced a staged directory
        // with a symlink, which a plain path would follow out of the stage.
        foreach (var entry in staged.Where(e => !e.Link))
        {
            string relative = Path.GetRelativePath(stage, entry.Path);
            using var parent = root.OpenDirectory(Path.GetDirectoryName(relative) ?? "", create: false);
            var modified = new DateTimeOffset(DateTime.SpecifyKind(entry.Modified, DateTimeKind.Utc));
            parent.SetTimes(Path.GetFileName(relative), modified, modified);
        }
    }

    /// <summary>
    /// Which directories a copy makes on the way to its destination get the copy's owner, as docker's classic builder
    /// gives it: a file source makes every missing parent as the --chown owner (MkdirAllAndChownNew of the file's
    /// directory); a directory source makes the parents as root and chowns only the destination it made; a tar ADD
    /// unpacks into directories root makes. The first source decides: the later ones find the directories there.
    /// </summary>
    private enum NewDirectoryOwner { None, Destination, AllNew }

    /// <summary>
    /// The time of what a build makes rather than copies (directories on the way to a destination, heredoc files):
    /// SOURCE_DATE_EPOCH when the build gives it as a build argument (BuildKit's convention; history and the image's
    /// created time take it too), else the Unix epoch.
    /// </summary>
    private DateTimeOffset BuildEpoch => SourceDateEpoch ?? DateTimeOffset.UnixEpoch;

    private DateTimeOffset? SourceDateEpoch =>
        options.BuildArgs.TryGetValue("SOURCE_DATE_EPOCH", out string? text) && long.TryParse(text, out long seconds) && seconds >= 0
            ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    /// <summary>--chown=user[:group], by number or by the stage's /etc/passwd and /etc/group. Without a group the
    /// group id is the user's numeric id (the Dockerfile reference: "a username without groupname or a UID without
    /// GID will use the same numeric UID as the GID"), not the user's primary group.</summary>
    private (uint, uint) ResolveOwner(StageState state, string spec, int line)
    {
        string[] parts = spec.Split(':', 2);
        uint user = uint.TryParse(parts[0], out uint uid) ? uid : LookupName(state, "/etc/passwd", parts[0], line).Id;
        uint gid = parts.Length == 2
            ? uint.TryParse(parts[1], out uint g) ? g : LookupName(state, "/etc/group", parts[1], line).Id
            : user;
        return (user, gid);
    }

    private (uint Id, uint? Gid) LookupName(StageState state, string file, string name, int line)
    {
        if (LowerPath(state, file) is { } host && File.Exists(host))
            foreach (string entry in File.ReadLines(host))
            {
                string[] f = entry.Split(':');
                if (f.Length >= 3 && f[0] == name && uint.TryParse(f[2], out uint id))
                    return (id, f.Length >= 4 && file.EndsWith("passwd", StringComparison.Ordinal) && uint.TryParse(f[3], out uint gid) ? gid : null);
            }
        throw new DockerfileException("UnknownOwner", line, $"--chown: '{name}' is not in the image's {file}.", ErrorKind.ObjectNotFound);
    }

    /// <summary>WORKDIR: sets the working directory and, when the image lacks it, makes it in a layer (as BuildKit does).</summary>
    private bool Workdir(StageState state, DockerfileInstruction i)
    {
        string dir = ShellWords.Word(i.Arguments, state.Lookup, escape);
        if (!dir.StartsWith('/')) dir = state.WorkingDir.TrimEnd('/') + "/" + dir;
        dir = "/" + DockerIgnore.Clean(dir).TrimStart('/');
        if (dir == "/.") dir = "/";
        state.Run["WorkingDir"] = dir;
        state.CacheKey = BuildCache.Key(state.CacheKey, "WORKDIR", dir);
        state.Changed("WORKDIR " + dir);
        if (dir == "/" || LowerPath(state, dir) is { } existing && Directory.Exists(existing)) return false;
        string key = BuildCache.Key(state.CacheKey, "MKDIR", dir);
        if (TryCached(state, key)) return true;
        string temp = TempPath("build-workdir");
        try
        {
            string stage = Path.Combine(temp, "stage");
            Directory.CreateDirectory(Path.Combine(stage, dir.TrimStart('/')));
            FixOwnership(state, stage, dir, true, [], null, null);
            string layer = Path.Combine(temp, "layer.tar");
            WriteStagedLayer(stage, layer);
            var history = state.PendingHistory.Count > 0 ? state.PendingHistory[^1] : null;
            if (history is not null)
            {
                history.EmptyLayer = false;
                state.PendingHistory.RemoveAt(state.PendingHistory.Count - 1);
            }
            CommitLayer(state, key, layer, "WORKDIR " + dir);
            return false;
        }
        finally
        {
            if (Directory.Exists(temp)) Storage.LayerStore.DeleteTree(temp);
        }
    }

    /// <summary>A staged tree as a layer tar (sorted entries, the staged times and owners).</summary>
    private void WriteStagedLayer(string stage, string layer)
    {
        using var file = new FileStream(layer, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 17);
        var archiver = new TreeArchiver(file, new ArchiveOptions { Cancel = options.Cancel });
        using (var root = RootedDirectory.Open(stage))
        using (var top = root.OpenDirectory("", create: false))
            archiver.AddChildren(top, "");
        archiver.Finish();
    }
}
