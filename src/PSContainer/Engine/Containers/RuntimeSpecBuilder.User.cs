using System.Globalization;
using System.Text;
using PSContainer.Native;

namespace PSContainer.Engine.Containers;

// The container's user and groups, from its own /etc/passwd and /etc/group (docker's rules, runc's user package).
public static partial class RuntimeSpecBuilder
{
    /// <summary>
    /// The most of /etc/passwd or /etc/group read. Real images carry a few KB (tens of thousands of entries fit in
    /// 4 MiB); the bound keeps a hostile image from making the engine read and parse without end while it holds the
    /// container's lock, and is what earlier versions accepted, so no image that worked stops working.
    /// </summary>
    public const int MaxUserDatabaseBytes = 4 << 20;

    /// <summary>Linux ids run to 2^31-1 in the user namespaces runc and docker accept.</summary>
    private const uint MaxId = int.MaxValue;

    /// <summary>
    /// Resolves "user[:group]" (names or numbers) against the container's own /etc/passwd and /etc/group, as docker
    /// does: a user named (or found by uid) without an explicit group gets the groups /etc/group lists it in, then
    /// <paramref name="groupAdd"/> (names from /etc/group, or numbers that need no entry) adds more. A name that is
    /// not there is an error; numbers need no entry. The files are read inside <paramref name="root"/> only (see
    /// <see cref="ReadDb"/>).
    /// </summary>
    public static ResolvedUser ResolveUser(string? spec, string root, IReadOnlyList<string>? groupAdd = null)
    {
        spec = string.IsNullOrEmpty(spec) ? "0" : spec;
        string userPart = spec, groupPart = "";
        int colon = spec.IndexOf(':');
        if (colon >= 0) { userPart = spec[..colon]; groupPart = spec[(colon + 1)..]; }
        List<string[]> passwd, group;
        using (var rooted = OpenRoot(root))
        {
            passwd = ReadDb(rooted, "etc/passwd");
            group = ReadDb(rooted, "etc/group");
        }
        bool numericUser = uint.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out uint uid);
        string[]? entry = numericUser
            ? passwd.FirstOrDefault(p => p.Length > 2 && p[2] == userPart)
            : passwd.FirstOrDefault(p => p[0] == userPart);
        if (entry is null && !numericUser)
            throw new EngineException("UserNotFound", ErrorKind.ObjectNotFound, spec, $"Unable to find user {userPart}: no matching entries in the container's /etc/passwd.");
        uint gid = 0; // docker: a numeric user without a passwd entry runs with group 0
        string home = "/";
        if (entry is not null)
        {
            if (!uint.TryParse(entry[2], NumberStyles.None, CultureInfo.InvariantCulture, out uid) || uid > MaxId)
                throw new EngineException("InvalidUserDatabase", ErrorKind.InvalidData, "/etc/passwd", $"The container's /etc/passwd gives user {entry[0]} the uid '{entry[2]}', which is not a user id.");
            gid = entry.Length > 3 && uint.TryParse(entry[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint g) ? g : 0;
            home = entry.Length > 5 && entry[5].Length > 0 ? entry[5] : "/";
        }
        if (uid > MaxId)
            throw new EngineException("InvalidUser", ErrorKind.InvalidArgument, spec, $"User id {uid} is out of range (0 to {MaxId}).");

        var additional = new List<uint>();
        if (groupPart.Length > 0)
        {
            gid = GroupId(groupPart, group, spec);
        }
        // docker (since the CVE-2022-36109 fix) lists the primary group among the supplementary ones too: otherwise a
        // process could leave its primary group (setgid to another of its groups) and escape permissions that deny
        // that group. `Groups:` in /proc/self/status shows it.
        additional.Add(gid);
        if (groupPart.Length == 0 && entry is not null)
        {
            // Only the implicit form gets the user's memberships (runc's GetExecUser); "user:group" means that group.
            additional.AddRange(group
                .Where(g => g.Length > 3 && g[3].Split(',').Contains(entry[0]) && uint.TryParse(g[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .Select(g => uint.Parse(g[2], CultureInfo.InvariantCulture)));
        }
        foreach (string extra in groupAdd ?? [])
            additional.Add(GroupId(extra, group, extra));
        return new ResolvedUser(uid, gid, additional.Distinct().ToArray(), home);
    }

    /// <summary>A group by name (first entry wins), else by number, which needs no entry.</summary>
    private static uint GroupId(string nameOrId, List<string[]> group, string target)
    {
        var entry = group.FirstOrDefault(g => g[0] == nameOrId || g[2] == nameOrId);
        if (entry is not null && uint.TryParse(entry[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint found) && found <= MaxId)
            return found;
        if (uint.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
        {
            if (gid > MaxId) throw new EngineException("InvalidGroup", ErrorKind.InvalidArgument, target, $"Group id {gid} is out of range (0 to {MaxId}).");
            return gid;
        }
        throw new EngineException("GroupNotFound", ErrorKind.ObjectNotFound, target, $"Unable to find group {nameOrId}: no matching entries in the container's /etc/group.");
    }

    /// <summary>The container's /etc/passwd entries (fields split), read inside <paramref name="root"/> as for a start.</summary>
    public static IReadOnlyList<string[]> ReadPasswd(string root)
    {
        using var rooted = OpenRoot(root);
        return ReadDb(rooted, "etc/passwd");
    }

    private static RootedDirectory OpenRoot(string root)
    {
        try
        {
            return RootedDirectory.Open(root);
        }
        catch (NativeException e)
        {
            throw new EngineException("InvalidUserDatabase", ErrorKind.ReadError, root, $"Cannot open the container's root {root} to read its users: {e.Message}", e);
        }
    }

    /// <summary>
    /// One of the image's user databases, resolved by the kernel inside the container's root (an /etc that is a
    /// symlink to a host path names that path in the image, never the host's), read only if it is a regular file
    /// of at most <see cref="MaxUserDatabaseBytes"/>: a FIFO would block the engine forever, a device could act
    /// on being opened. Missing is empty, as in docker (numeric users need no entry); anything else unreadable is an
    /// error rather than a guess.
    /// </summary>
    private static List<string[]> ReadDb(RootedDirectory root, string path)
    {
        RootedFileStatus status;
        byte[] content;
        try
        {
            status = root.TryReadRegularFile(path, MaxUserDatabaseBytes, out content);
        }
        catch (NativeException e)
        {
            throw new EngineException("InvalidUserDatabase", ErrorKind.ReadError, "/" + path, $"Cannot read the container's /{path}: {e.Message}", e);
        }
        return status switch
        {
            RootedFileStatus.Missing => [],
            RootedFileStatus.NotRegular => throw new EngineException("InvalidUserDatabase", ErrorKind.InvalidData, "/" + path,
                $"The container's /{path} is not a regular file (a FIFO, device, socket or directory): it is not read, and users and groups cannot be resolved."),
            RootedFileStatus.TooLarge => throw new EngineException("InvalidUserDatabase", ErrorKind.InvalidData, "/" + path,
                $"The container's /{path} is larger than {MaxUserDatabaseBytes >> 20} MiB: it is not read, and users and groups cannot be resolved."),
            _ => Encoding.UTF8.GetString(content).Split('\n')
                .Select(l => l.TrimEnd('\r'))
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l.Split(':'))
                .Where(f => f.Length >= 3)
                .ToList(),
        };
    }
}
