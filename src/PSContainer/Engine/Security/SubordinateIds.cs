using System.Globalization;
using PSContainer.Native;

namespace PSContainer.Engine.Security;

/// <summary>One line of /etc/subuid or /etc/subgid: ids [Start, Start+Count) delegated to Owner (a name or a uid).</summary>
public readonly record struct SubordinateRange(string Owner, long Start, long Count)
{
    public long End => Start + Count;
}

/// <summary>
/// The pscontainer user's subordinate ids. Auto user namespaces are carved from them, as podman carves
/// --userns=auto from the "containers" user's and docker's --userns-remap=default from "dockremap"'s.
/// </summary>
public static class SubordinateIds
{
    public const string User = "pscontainer";

    /// <summary>What a first use delegates: room for 1024 containers of 65536 ids.</summary>
    public const long DelegatedCount = UserNamespaceSetting.AutoSize * 1024;

    /// <summary>Never below this: the ids under it are the host's own users, and 100000 the usual first rootless range.</summary>
    public const long LowestStart = 1L << 24;

    public static string SubuidPath { get; set; } = "/etc/subuid";
    public static string SubgidPath { get; set; } = "/etc/subgid";

    /// <summary>Parses the file format (name:start:count per line; # comments and blank lines skipped, bad lines ignored as shadow's tools do).</summary>
    public static IReadOnlyList<SubordinateRange> Parse(string text)
    {
        var list = new List<SubordinateRange>();
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] f = line.Split(':');
            if (f.Length != 3 || f[0].Length == 0) continue;
            if (!long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
                || !long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count <= 0) continue;
            list.Add(new SubordinateRange(f[0], start, count));
        }
        return list;
    }

    /// <summary>The starts of every whole block of <paramref name="size"/> ids the owner's ranges hold, in file order.</summary>
    public static IReadOnlyList<long> Blocks(IEnumerable<SubordinateRange> ranges, string owner, string? ownerUid, long size)
    {
        var blocks = new List<long>();
        foreach (var r in ranges.Where(r => r.Owner == owner || (ownerUid is not null && r.Owner == ownerUid)))
            for (long s = r.Start; s + size <= r.End; s += size) blocks.Add(s);
        return blocks;
    }

    /// <summary>The first start at or above <see cref="LowestStart"/>, aligned to a block, past every range already delegated.</summary>
    public static long FreeStart(IEnumerable<SubordinateRange> existing)
    {
        long end = existing.Select(r => r.End).DefaultIfEmpty(0).Max();
        long start = Math.Max(end, LowestStart);
        long size = UserNamespaceSetting.AutoSize;
        return (start + size - 1) / size * size;
    }

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    /// <summary>
    /// The blocks of 65536 uids and gids the pscontainer user holds, delegating a range on first use. Like docker's
    /// dockremap, the user is made with useradd --system and its ranges added with usermod --add-subuids/--add-subgids:
    /// shadow's own tools lock and rewrite /etc/subuid and /etc/subgid safely against every other writer of them
    /// (adduser, usermod, podman's setup). A host lock serialises two engines doing this at once.
    /// </summary>
    public static (IReadOnlyList<long> Uids, IReadOnlyList<long> Gids) EnsureDelegated(long size)
    {
        var found = Current(size);
        if (found.Uids.Count > 0 && found.Gids.Count > 0) return found;
        Directory.CreateDirectory("/run/lock");
        using (FileLock.Acquire("/run/lock/pscontainer-subids.lock", exclusive: true))
        {
            found = Current(size);
            if (found.Uids.Count > 0 && found.Gids.Count > 0) return found;
            if (UidOf(User) is null)
                RunTool("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                    "--comment", "PSContainer user namespaces", User);
            var all = Parse(Read(SubuidPath)).Concat(Parse(Read(SubgidPath))).ToList();
            long start = FreeStart(all);
            string range = $"{start}-{start + DelegatedCount - 1}";
            var args = new List<string>();
            if (found.Uids.Count == 0) args.AddRange(["--add-subuids", range]);
            if (found.Gids.Count == 0) args.AddRange(["--add-subgids", range]);
            args.Add(User);
            RunTool("usermod", [.. args]);
            found = Current(size);
        }
        if (found.Uids.Count == 0 || found.Gids.Count == 0)
            throw new EngineException("SubordinateIdsMissing", ErrorKind.NotInstalled, SubuidPath,
                $"The user '{User}' has no range of {size} ids in {SubuidPath} and {SubgidPath}; add e.g. '{User}:{LowestStart}:{DelegatedCount}' to both.");
        return found;
    }

    /// <summary>The pscontainer user's ranges as the files hold them now (none before the first Auto container); delegates nothing.</summary>
    public static (IReadOnlyList<SubordinateRange> Uids, IReadOnlyList<SubordinateRange> Gids) Delegated()
    {
        string? uid = UidOf(User);
        bool Mine(SubordinateRange r) => r.Owner == User || (uid is not null && r.Owner == uid);
        return (Parse(Read(SubuidPath)).Where(Mine).ToList(), Parse(Read(SubgidPath)).Where(Mine).ToList());
    }

    private static (IReadOnlyList<long> Uids, IReadOnlyList<long> Gids) Current(long size)
    {
        string? uid = UidOf(User);
        string? gid = uid; // shadow tools match the uid's number in both files
        return (Blocks(Parse(Read(SubuidPath)), User, uid, size), Blocks(Parse(Read(SubgidPath)), User, gid, size));
    }

    private static string? UidOf(string name)
    {
        if (!File.Exists("/etc/passwd")) return null;
        foreach (string line in File.ReadLines("/etc/passwd"))
        {
            string[] f = line.Split(':');
            if (f.Length > 2 && f[0] == name) return f[2];
        }
        return null;
    }

    private static void RunTool(string tool, params string[] args)
    {
        string? path = new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        if (path is null)
            throw new EngineException("SubordinateIdsMissing", ErrorKind.NotInstalled, tool,
                $"{tool} (Debian's passwd package) is needed to delegate ids to the '{User}' user; install it, or add '{User}:{LowestStart}:{DelegatedCount}' to {SubuidPath} and {SubgidPath}.");
        var (code, _, stderr) = ProcessSpawner.Run(path, [path, .. args], new Dictionary<string, string> { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" }, TimeSpan.FromSeconds(30));
        // useradd: 9 = the user exists (another engine made it between our look and now)
        if (code != 0 && !(tool == "useradd" && code == 9))
            throw new EngineException("SubordinateIdsMissing", ErrorKind.InvalidOperation, tool, $"{tool} {string.Join(' ', args)} failed ({code}): {stderr.Trim()}");
    }
}
