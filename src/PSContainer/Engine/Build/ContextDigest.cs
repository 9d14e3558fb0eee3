using System.Security.Cryptography;
using System.Text;

namespace PSContainer.Engine.Build;

/// <summary>
/// The content digest of a context path, as BuildKit's cache keys use it: every entry under it (minus what
/// .dockerignore leaves out) by relative path, type, permission bits, symlink target and content hash, and which files
/// are hard links of a file met before (COPY keeps them linked, so a change of link structure alone is a change of
/// the layer). Times and owners are not part of it (a fresh checkout hits the cache), as in BuildKit.
/// </summary>
public static class ContextDigest
{
    public static string Of(string hostPath, string context, DockerIgnore ignore, FileDigestCache? files = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, hostPath, context, ignore, "", files, []);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Adds a path's lines; true when it was a file whose content was hashed.</summary>
    private static bool Add(IncrementalHash hash, string hostPath, string context, DockerIgnore ignore, string name, FileDigestCache? files,
        Dictionary<(ulong, ulong), string> links)
    {
        var info = new FileInfo(hostPath);
        string relative = Path.GetRelativePath(context, hostPath);
        if (relative != "." && ignore.IsIgnored(relative) && !ignore.HasExclusions) return false;
        bool ignored = relative != "." && ignore.IsIgnored(relative);
        if (info.LinkTarget is { } target)
        {
            if (!ignored) Line(hash, "L", name, target);
            return false;
        }
        if (Directory.Exists(hostPath))
        {
            if (!ignored) Line(hash, "D", name, ((int)new DirectoryInfo(hostPath).UnixFileMode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var root = PSContainer.Native.RootedDirectory.Open(hostPath);
            using var directory = root.OpenDirectory("", create: false);
            foreach (string child in Directory.EnumerateFileSystemEntries(hostPath).OrderBy(c => c, StringComparer.Ordinal))
            {
                string childName = name.Length == 0 ? Path.GetFileName(child) : name + "/" + Path.GetFileName(child);
                if (!Add(hash, child, context, ignore, childName, files, links)) continue;
                if (directory.Stat(Path.GetFileName(child)) is not { Links: > 1 } st) continue;
                if (links.TryGetValue((st.Device, st.Inode), out string? first)) Line(hash, "H", childName, first);
                else links[(st.Device, st.Inode)] = childName;
            }
            return false;
        }
        if (ignored || !info.Exists) return false;
        string content;
        if (files is not null) content = files.Digest(hostPath, info);
        else
        {
            using var stream = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            content = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        Line(hash, "F", name, ((int)info.UnixFileMode).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + content);
        return true;
    }

    private static void Line(IncrementalHash hash, string kind, string name, string detail) =>
        hash.AppendData(Encoding.UTF8.GetBytes($"{kind}\0{name}\0{detail}\n"));
}
