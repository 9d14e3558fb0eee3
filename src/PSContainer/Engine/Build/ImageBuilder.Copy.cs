using PSContainer.Engine.Containers;
using PSContainer.Engine.Oci;
using PSContainer.Native;

namespace PSContainer.Engine.Build;

// COPY and ADD: the sources are staged at their destination paths in a temp tree, which is written as the layer.
public sealed partial class ImageBuilder
{
    private static readonly HashSet<string> CopyFlags = ["from", "chown", "chmod", "link"];

    /// <summary>One thing to copy: a host path (a context entry, or a stage's file copied out), or a heredoc's text.</summary>
    private sealed record CopySource(string Name, string? HostPath, string? Content, bool Extract);

    /// <summary>An entry staged by this copy, with the mode it gets (owner and mode are set once the tree is staged).</summary>
    private sealed record StagedEntry(string Path, string? Source, uint Mode, bool Link, bool Directory, DateTime Modified);

    private bool Copy(StageState state, DockerfileInstruction i)
    {
        foreach (string flag in i.Flags.Keys)
            if (!CopyFlags.Contains(flag)) throw new DockerfileException("UnknownFlag", i.Line, $"{i.Keyword} has no --{flag} option.");
        var words = i.Json is { } json ? json.Select(w => ShellWords.Word(w, state.Lookup, escape)).ToList() : ShellWords.Words(i.Arguments, state.Lookup, escape);
        if (words.Count < 2) throw new DockerfileException("MissingArguments", i.Line, $"{i.Keyword} needs at least one source and a destination.");
        string dest = words[^1];
        // Rooted before cleaning, so no '..' (nor a base image's relative WorkingDir) leads above the image's root.
        string destination = DockerIgnore.Clean(dest.StartsWith('/') ? dest : "/" + state.WorkingDir.Trim('/') + "/" + dest);
        destination = destination == "." ? "/" : "/" + destination.TrimStart('/');
        string? from = i.Flag("from") is { } f ? ShellWords.Word(f, state.Lookup, escape) : null;
        string? chown = i.Flag("chown") is { } c ? ShellWords.Word(c, state.Lookup, escape) : null;
        uint? chmod = i.Flag("chmod") is { } m ? ParseMode(m, i.Line) : null;

        string temp = TempPath("build-copy");
        try
        {
            Directory.CreateDirectory(temp);
            var (sources, digest) = ResolveSources(state, i, words.Take(words.Count - 1).ToList(), from, temp);
            bool intoDirectory = dest.EndsWith('/') || dest is "." or "/" || sources.Count > 1 || sources.Any(s => s.Extract || (s.HostPath is { } h && Directory.Exists(h)))
                                 || Directory.Exists(LowerPath(state, destination) ?? "\0");
            if (sources.Count > 1 && !dest.EndsWith('/') && !Directory.Exists(LowerPath(state, destination) ?? "\0"))
                throw new DockerfileException("DestinationNotDirectory", i.Line, $"When using {i.Keyword} with more than one source file, the destination must be a directory and end with a /.");
            string key = BuildCache.Key(state.CacheKey, i.Keyword, destination, intoDirectory.ToString(), chown ?? "", chmod?.ToString() ?? "", digest);
            if (TryCached(state, key)) return true;

            var owner = chown is null ? (from is null ? (0u, 0u) : ((uint, uint)?)null) : ResolveOwner(state, chown, i.Line);
            string stage = Path.Combine(temp, "stage");
            var staged = new List<StagedEntry>();
            string destHost = Path.Combine(stage, destination.TrimStart('/'));
            Directory.CreateDirectory(intoDirectory ? destHost : Path.GetDirectoryName(destHost)!);
            foreach (var source in sources)
            {
                string target = intoDirectory ? Path.Combine(destHost, source.Name) : destHost;
                EnsureNoLinkOnPath(stage, target, i.Line);
                if (source.Content is { } text)
                {
                    File.WriteAllText(target, text);
                    staged.Add(new StagedEntry(target, null, 0x1A4, false, false, BuildEpoch.UtcDateTime));
                }
                else if (source.Extract)
                {
                    EnsureNoLinkOnPath(stage, destHost, i.Line);
                    ExtractTar(source.HostPath!, destHost);
                }
                else if (Directory.Exists(source.HostPath) && new FileInfo(source.HostPath!).LinkTarget is null)
                {
                    var links = new Dictionary<(ulong, ulong), string>();
                    foreach (string child in Directory.EnumerateFileSystemEntries(source.HostPath!).OrderBy(x => x, StringComparer.Ordinal))
                        StageTree(child, Path.Combine(destHost, Path.GetFileName(child)), from is null, staged, stage, i.Line, links);
                }
                else StageTree(source.HostPath!, target, from is null, staged, stage, i.Line, new());
            }
            var first = sources[0];
            var newDirectories = first.Extract ? NewDirectoryOwner.None
                : first.HostPath is { } firstHost && Directory.Exists(firstHost) && new FileInfo(firstHost).LinkTarget is null ? NewDirectoryOwner.Destination
                : NewDirectoryOwner.AllNew;
            FixOwnership(state, stage, destination, intoDirectory, staged, owner, chmod, newDirectories);
            string layer = Path.Combine(temp, "layer.tar");
            WriteStagedLayer(stage, layer);
            CommitLayer(state, key, layer, $"{i.Keyword} {i.Arguments} # buildkit");
            return false;
        }
        finally
        {
            if (Directory.Exists(temp)) Storage.LayerStore.DeleteTree(temp);
        }
    }

    private (List<CopySource> Sources, string Digest) ResolveSources(StageState state, DockerfileInstruction i, List<string> names, string? from, string temp)
    {
        var sources = new List<CopySource>();
        var digests = new List<string>();
        foreach (string name in names)
        {
            if (name.StartsWith("<<", StringComparison.Ordinal) && i.Heredocs.FirstOrDefault(h => h.Name == name.TrimStart('<', '-')) is { } doc)
            {
                string text = doc.Expand ? ShellWords.ExpandOnly(doc.Content, state.Lookup, escape) : doc.Content;
                sources.Add(new CopySource(doc.Name, null, text, false));
                digests.Add("heredoc:" + doc.Name + ":" + text);
                continue;
            }
            if (name.Contains("://", StringComparison.Ordinal))
            {
                if (i.Keyword == "ADD")
                    throw new DockerfileException("AddUrlRefused", i.Line, $"ADD {name}: fetching URLs is refused; this builder works offline-first. Download the file into the build context and ADD or COPY it.", ErrorKind.InvalidOperation);
                throw new DockerfileException("CopyUrl", i.Line, $"COPY {name}: COPY takes paths of the build context, not URLs.");
            }
            if (from is not null && name.IndexOfAny(['*', '?', '[']) >= 0)
            {
                var (hosts, fromKey) = CopyMatchesOutOf(state, from, name, temp, i.Line);
                sources.AddRange(hosts.Select(h => new CopySource(Path.GetFileName(h), h, null, false)));
                digests.Add("from:" + fromKey + ":" + name);
                continue;
            }
            if (from is not null)
            {
                var (host, key) = CopyOutOf(state, from, name, temp, i.Line);
                sources.Add(new CopySource(Path.GetFileName(host), host, null, false));
                digests.Add("from:" + key + ":" + name);
                continue;
            }
            foreach (string host in ContextMatches(name, i.Line))
            {
                // A matched symlink is copied as the link it is: never opened, so a link to a host tar (or a FIFO) is
                // neither read nor unpacked.
                bool extract = i.Keyword == "ADD" && new FileInfo(host).LinkTarget is null && File.Exists(host) && IsTar(host);
                sources.Add(new CopySource(Path.GetFileName(host), host, null, extract));
                digests.Add(Path.GetRelativePath(context, host) + ":" + extract + ":" + ContextDigest.Of(host, context, ignore, fileDigests));
            }
        }
        return (sources, string.Join('\n', digests));
    }

    /// <summary>The context entries a COPY source names: a path, or a filepath.Match pattern over the context.</summary>
    private List<string> ContextMatches(string name, int line)
    {
        string clean = DockerIgnore.Clean(name.TrimStart('/'));
        if (clean == ".." || clean.StartsWith("../", StringComparison.Ordinal))
            throw new DockerfileException("ContextEscape", line, $"forbidden path outside the build context: {name}.", ErrorKind.PermissionDenied);
        if (clean.IndexOfAny(['*', '?', '[']) < 0)
        {
            string host = ContextPath(clean, line);
            if ((clean != "." && ignore.IsIgnored(clean)) || !Path.Exists(host))
                throw new DockerfileException("SourceNotFound", line, $"file not found in build context or excluded by .dockerignore: {name}.", ErrorKind.ObjectNotFound);
            return [host];
        }
        var matches = MatchTree(context, DockerIgnore.Compile(clean, line), ignore.IsIgnored);
        if (matches.Count == 0)
            throw new DockerfileException("SourceNotFound", line, $"no source files were specified: nothing in the build context matches {name}.", ErrorKind.ObjectNotFound);
        return matches;
    }

    /// <summary>The entries under <paramref name="root"/> whose path relative to it matches; a matched directory is not walked into.</summary>
    private static List<string> MatchTree(string root, System.Text.RegularExpressions.Regex pattern, Func<string, bool> ignored)
    {
        var matches = new List<string>();
        int visited = 0;
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0 && visited++ < 1_000_000)
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(pending.Pop()).OrderByDescending(e => e, StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(root, entry);
                if (pattern.IsMatch(relative) && !ignored(relative)) matches.Add(entry);
                else if (Directory.Exists(entry) && new FileInfo(entry).LinkTarget is null) pending.Push(entry);
            }
        }
        return matches.OrderBy(m => m, StringComparer.Ordinal).ToList();
    }

    /// <summary>A context path on the host, refusing one that leaves the context directly or through a symlink.</summary>
    private string ContextPath(string relative, int line)
    {
        string clean = DockerIgnore.Clean(relative.TrimStart('/'));
        if (clean == ".." || clean.StartsWith("../", StringComparison.Ordinal))
            throw new DockerfileException("ContextEscape", line, $"forbidden path outside the build context: {relative}.", ErrorKind.PermissionDenied);
        string host = clean == "." ? context : Path.Combine(context, clean);
        // Every component is resolved, not only the last: a symlinked directory of the context (sub -> /etc) must
        // not lead COPY sub/passwd out of it.
        string real = RealPath(host, line), root = RealPath(context, line);
        if (real != root && !real.StartsWith(root + "/", StringComparison.Ordinal))
            throw new DockerfileException("ContextSymlinkEscape", line, $"'{relative}' leads through a symlink to {real}, outside the build context.", ErrorKind.PermissionDenied);
        return real;
    }

    /// <summary>realpath(3) of a path that may not exist (its missing tail is kept as written), in at most 40 link hops.</summary>
    private static string RealPath(string path, int line, int hops = 0)
    {
        string current = "/";
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int k = 0; k < parts.Length; k++)
        {
            if (parts[k] == ".") continue;
            if (parts[k] == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            string next = Path.Combine(current, parts[k]);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }
            if (hops >= 40) throw new DockerfileException("SymlinkLoop", line, $"too many levels of symbolic links in {path}.");
            string rest = string.Join('/', parts[(k + 1)..]);
            string resolved = (target.StartsWith('/') ? target : Path.Combine(current, target)) + (rest.Length > 0 ? "/" + rest : "");
            return RealPath(resolved, line, hops + 1);
        }
        return current;
    }

    /// <summary>The image a --from names (an earlier stage's, made if pending, or an image pulled when missing) and its cache key part.</summary>
    private (Images.ContainerImage Image, string Key) ResolveFrom(StageState state, string from)
    {
        if (BuildStages.Find(stages, from, state.Stage.Index) is { } stage)
        {
            var source = built[stage.Index];
            return (Materialize(source, []), source.CacheKey);
        }
        Images.ImageStore.ValidateNameOrId(from);
        var image = images.Find(from) ?? pull(from, options.Platform, options.Cancel);
        return (image, image.Id);
    }

    /// <summary>Copies a path of an earlier stage (or of an image) out through a container that never starts.</summary>
    private (string Host, string Key) CopyOutOf(StageState state, string from, string path, string temp, int line)
    {
        var (image, key) = ResolveFrom(state, from);
        string into = Path.Combine(temp, "from", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(into);
        // A relative source names a path from the root of the stage or image copied from: docker build uses neither
        // that stage's WORKDIR nor the current one.
        string containerPath = path.StartsWith('/') ? path : "/" + path;
        return (CopyPathOut(image, from, containerPath, into, line), key);
    }

    /// <summary>
    /// The paths of a stage (or an image) a --from pattern matches: the directory before the first wildcard is copied
    /// out, and the pattern is matched (Go's filepath.Match per path, as for the context) against what it holds.
    /// </summary>
    private (List<string> Hosts, string Key) CopyMatchesOutOf(StageState state, string from, string pattern, string temp, int line)
    {
        var (image, key) = ResolveFrom(state, from);
        string full = DockerIgnore.Clean(pattern.TrimStart('/'));
        string[] parts = full.Split('/');
        int literal = Array.FindIndex(parts, p => p.IndexOfAny(['*', '?', '[']) >= 0);
        string prefix = "/" + string.Join('/', parts[..literal]);
        string rest = string.Join('/', parts[literal..]);
        string root = Path.Combine(temp, "from", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            if (literal > 0)
            {
                // The directory's content ("dir/."): a directory reached through a link of the stage (/lib -> usr/lib)
                // is the one the link names inside the stage's root, as docker follows it.
                CopyPathOut(image, from, prefix.TrimEnd('/') + "/.", root, line);
            }
            else
            {
                // A wildcard in the first part (/*.txt): only the root entries it matches are copied out, not the
                // stage's whole file system.
                var first = DockerIgnore.Compile(parts[0], line);
                var names = RootNames(image).Where(n => first.IsMatch(n)).Select(n => "/" + n).ToList();
                if (names.Count == 0) throw new DockerfileException("SourceNotFound", line, $"nothing at the root matches {parts[0]}.", ErrorKind.ObjectNotFound);
                CopyPathsOut(image, from, names, root, line);
            }
        }
        catch (Exception e) when (e is DockerfileException { ErrorId: "SourceNotFound" } or EngineException { ErrorId: "NotADirectory" })
        {
            throw new DockerfileException("SourceNotFound", line, $"COPY --from={from}: nothing in that stage's file system matches {pattern}.", ErrorKind.ObjectNotFound, e);
        }
        var matches = MatchTree(root, DockerIgnore.Compile(rest, line), _ => false);
        if (matches.Count == 0)
            throw new DockerfileException("SourceNotFound", line, $"COPY --from={from}: nothing in that stage's file system matches {pattern}.", ErrorKind.ObjectNotFound);
        return (matches, key);
    }

    /// <summary>Copies one path of an image to <paramref name="into"/> (owners, modes, times and hard links kept) through a container that never starts.</summary>
    private string CopyPathOut(Images.ContainerImage image, string from, string containerPath, string into, int line) =>
        CopyPathsOut(image, from, [containerPath], into, line)[0];

    /// <summary>Copies paths of an image into <paramref name="into"/> through one container that never starts; their destinations.</summary>
    private List<string> CopyPathsOut(Images.ContainerImage image, string from, IReadOnlyList<string> containerPaths, string into, int line)
    {
        string id = containers.Create(new ContainerOptions
        {
            Image = image.Id, Name = "build-" + Guid.NewGuid().ToString("N")[..16], Entrypoint = ["/bin/true"], Network = "none",
            Labels = BuildContainers.Labels("copy"),
        }).Id;
        string current = "";
        try
        {
            var copied = new List<string>();
            foreach (string containerPath in containerPaths)
            {
                current = containerPath;
                copied.Add(containers.CopyFromContainer(id, containerPath, into, new CopyOptions { Archive = true, Cancel = options.Cancel }).Destination);
            }
            return copied;
        }
        catch (EngineException e) when (e.Kind == ErrorKind.ObjectNotFound)
        {
            throw new DockerfileException("SourceNotFound", line, $"--from={from}: {current} is not in that stage's file system.", ErrorKind.ObjectNotFound, e);
        }
        finally
        {
            containers.Remove(id, force: true, removeVolumes: true);
        }
    }

    /// <summary>
    /// Staging writes through plain paths, so nothing on the way to a target may be a symlink an earlier source of the
    /// same COPY staged (COPY a* d /dest/ with a -> /etc and d/a/x would write /etc/x as root); the target itself, if a
    /// link, is replaced as an archive would replace it.
    /// </summary>
    private static void EnsureNoLinkOnPath(string stage, string target, int line)
    {
        string relative = Path.GetRelativePath(stage, target);
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            throw new DockerfileException("StageEscape", line, $"'{target}' is outside the copy's staging tree.", ErrorKind.PermissionDenied);
        string[] parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string current = stage;
        for (int k = 0; k < parts.Length; k++)
        {
            current = Path.Combine(current, parts[k]);
            if (new FileInfo(current).LinkTarget is null) continue;
            if (k < parts.Length - 1)
                throw new DockerfileException("SourcesOverlapSymlink", line,
                    $"two sources of this copy meet at '/{string.Join('/', parts[..(k + 1)])}', which one of them makes a symbolic link: the other would be written through it.", ErrorKind.InvalidArgument);
            File.Delete(current);
        }
    }

    /// <summary>
    /// Stages a source path at <paramref name="target"/>. Files hard-linked to each other within one source stay hard
    /// links (<paramref name="links"/>: the staged path of each multiply-linked inode seen so far), as docker's
    /// archive copy keeps them.
    /// </summary>
    private void StageTree(string source, string target, bool fromContext, List<StagedEntry> staged, string stage, int line, Dictionary<(ulong, ulong), string> links)
    {
        EnsureNoLinkOnPath(stage, target, line);
        var info = new FileInfo(source);
        if (fromContext && ignore.IsIgnored(Path.GetRelativePath(context, source)) && !ignore.HasExclusions) return;
        if (info.LinkTarget is { } link)
        {
            File.CreateSymbolicLink(target, link);
            staged.Add(new StagedEntry(target, source, 0, true, false, info.LastWriteTimeUtc));
            return;
        }
        if (Directory.Exists(source))
        {
            Directory.CreateDirectory(target);
            foreach (string child in Directory.EnumerateFileSystemEntries(source).OrderBy(x => x, StringComparer.Ordinal))
                StageTree(child, Path.Combine(target, Path.GetFileName(child)), fromContext, staged, stage, line, links);
            staged.Add(new StagedEntry(target, source, (uint)new DirectoryInfo(source).UnixFileMode, false, true, Directory.GetLastWriteTimeUtc(source)));
            return;
        }
        if (fromContext && ignore.IsIgnored(Path.GetRelativePath(context, source))) return;
        if (!info.Exists) return; // sockets, devices and FIFOs are not copied
        if (StatOf(source) is { Links: > 1 } st)
        {
            if (links.TryGetValue((st.Device, st.Inode), out string? first) && File.Exists(first))
            {
                HardLinkStaged(stage, first, target);
                staged.Add(new StagedEntry(target, source, (uint)info.UnixFileMode, false, false, info.LastWriteTimeUtc));
                return;
            }
            links[(st.Device, st.Inode)] = target;
        }
        File.Copy(source, target, overwrite: true);
        staged.Add(new StagedEntry(target, source, (uint)info.UnixFileMode, false, false, info.LastWriteTimeUtc));
    }

    /// <summary>Links a staged path to one staged earlier, both inside the staging tree (through its rooted handle).</summary>
    private static void HardLinkStaged(string stage, string first, string target)
    {
        if (File.Exists(target) || new FileInfo(target).LinkTarget is not null) File.Delete(target);
        using var root = RootedDirectory.Open(stage);
        using var linkParent = root.OpenDirectory(Path.GetDirectoryName(Path.GetRelativePath(stage, target)) ?? "", create: false);
        using var firstParent = root.OpenDirectory(Path.GetDirectoryName(Path.GetRelativePath(stage, first)) ?? "", create: false);
        linkParent.MakeHardLink(Path.GetFileName(target), firstParent, Path.GetFileName(first));
    }

    private static bool IsTar(string path)
    {
        using var file = File.OpenRead(path);
        using var data = Compression.OpenDecompressed(file, out _);
        var head = new byte[512];
        int read = 0;
        while (read < head.Length && data.Read(head, read, head.Length - read) is int n and > 0) read += n;
        return read == 512 && System.Text.Encoding.ASCII.GetString(head, 257, 5) == "ustar";
    }

    private void ExtractTar(string tar, string directory)
    {
        using var file = File.OpenRead(tar);
        using var data = Compression.OpenDecompressed(file, out _);
        using var root = RootedDirectory.Open(directory);
        Storage.LayerApplier.Apply(data, root, new Storage.ExtractOptions { Whiteouts = false, Cancel = options.Cancel });
    }

    private static uint ParseMode(string text, int line)
    {
        try
        {
            uint mode = Convert.ToUInt32(text, 8);
            if (mode <= 0xFFF) return mode;
        }
        catch (FormatException) { }
        catch (OverflowException) { }
        throw new DockerfileException("InvalidChmod", line, $"--chmod={text} is not an octal mode (for example 755).");
    }
}
