namespace PSContainer.Engine.Containers;

/// <summary>
/// A bind mount's host path, made ready the way docker -v does when a container starts: a path that does not exist is
/// made as a directory (mode 0755 less the umask, parents too), so -Volume /srv/data:/data works on a fresh host and
/// the container's writes show up there. Whatever exists is mounted as it is: a directory, a file, a socket (docker's
/// /var/run/docker.sock habit), a fifo or a device. A symbolic link that leads nowhere is refused rather than
/// "repaired" by a directory made where it points: that would be a guess at what the user meant.
/// </summary>
public static class BindSource
{
    private const UnixFileMode DirectoryMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Makes <paramref name="source"/> (absolute) if it is missing; returns whether it made it.</summary>
    public static bool Prepare(string source)
    {
        // Path.Exists does not follow a final symbolic link: a dangling one "exists", and is looked at below.
        if (Path.Exists(source))
        {
            if (DanglingLink(source) is { } what)
                throw new EngineException("BindSourceDanglingLink", ErrorKind.ObjectNotFound, source,
                    $"-Volume source {source} is {what}: point it at something that exists, or give that path itself.");
            return false;
        }
        // A missing path below a dangling link would be made wherever the link points, or fail with "file exists".
        for (string? parent = Path.GetDirectoryName(source); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (!Path.Exists(parent)) continue;
            if (DanglingLink(parent) is { } what)
                throw new EngineException("BindSourceDanglingLink", ErrorKind.ObjectNotFound, source,
                    $"-Volume source {source} cannot be made: {parent} is {what}.");
            break;
        }
        try
        {
            Directory.CreateDirectory(source, DirectoryMode);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EngineException("BindSourceNotCreated", ErrorKind.WriteError, source,
                $"-Volume source {source} does not exist and cannot be made as a directory: {e.Message}", e);
        }
    }

    /// <summary>What a symbolic link at <paramref name="path"/> is when it leads nowhere (or round a loop); null otherwise.</summary>
    private static string? DanglingLink(string path)
    {
        var entry = new FileInfo(path);
        if (entry.LinkTarget is not { } link) return null;
        try
        {
            var final = entry.ResolveLinkTarget(returnFinalTarget: true);
            return final is not null && Path.Exists(final.FullName) ? null : $"a symbolic link to {final?.FullName ?? link}, which does not exist";
        }
        catch (IOException)
        {
            // Too many levels of symbolic links: a loop leads nowhere either.
            return $"a symbolic link to {link} in a loop of symbolic links";
        }
    }
}
