using System.Security.Cryptography;
using System.Text;

namespace PSContainer.Engine.Build;

/// <summary>
/// The content digest of a context path, as BuildKit's cache keys use it: every entry under it (minus what
/// .dockerignore leaves out) by relative path, type, permission bits, symlink target and content hash. Times and
/// owners are not part of it (a fresh checkout hits the cache), as in BuildKit.
/// </summary>
public static class ContextDigest
{
    public static string Of(string hostPath, string context, DockerIgnore ignore, FileDigestCache? files = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, hostPath, context, ignore, "", files);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Add(IncrementalHash hash, string hostPath, string context, DockerIgnore ignore, string name, FileDigestCache? files)
    {
        var info = new FileInfo(hostPath);
        string relative = Path.GetRelativePath(context, hostPath);
        if (relative != "." && ignore.IsIgnored(relative) && !ignore.HasExclusions) return;
        bool ignored = relative != "." && ignore.IsIgnored(relative);
        if (info.LinkTarget is { } target)
        {
            if (!ignored) Line(hash, "L", name, target);
            return;
        }
        if (Directory.Exists(hostPath))
        {
            if (!ignored) Line(hash, "D", name, ((int)new DirectoryInfo(hostPath).UnixFileMode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (string child in Directory.EnumerateFileSystemEntries(hostPath).OrderBy(c => c, StringComparer.Ordinal))
                Add(hash, child, context, ignore, name.Length == 0 ? Path.GetFileName(child) : name + "/" + Path.GetFileName(child), files);
            return;
        }
        if (ignored || !info.Exists) return;
        string content;
        if (files is not null) content = files.Digest(hostPath, info);
        else
        {
            using var stream = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            content = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        Line(hash, "F", name, ((int)info.UnixFileMode).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + content);
    }

    private static void Line(IncrementalHash hash, string kind, string name, string detail) =>
        hash.AppendData(Encoding.UTF8.GetBytes($"{kind}\0{name}\0{detail}\n"));
}
