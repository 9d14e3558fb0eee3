namespace PSContainer.Native;

/// <summary>
/// Making a record survive power loss, not just a killed process: the file's data and the directory entry that
/// names it must both reach the disk before the step they announce begins.
/// </summary>
public static class Durable
{
    /// <summary>Writes a small file, flushes it to disk, then flushes its directory so the name is there too.</summary>
    public static void WriteFile(string path, string content)
    {
        using (var f = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            f.Write(System.Text.Encoding.UTF8.GetBytes(content));
            f.Flush(flushToDisk: true);
        }
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Deletes a file and flushes its directory, so the deletion cannot be undone by a power cut.</summary>
    public static void DeleteFile(string path)
    {
        if (!File.Exists(path)) return;
        File.Delete(path);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>fsync(2) of a directory: its entries (files made, renamed or removed in it) reach the disk.</summary>
    public static unsafe void SyncDirectory(string directory)
    {
        byte[] p = Sys.Z(directory);
        int fd;
        fixed (byte* pp = p) fd = Tmds.Linux.LibC.open(pp, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0);
        if (fd < 0) throw new NativeException("open directory", directory, Errors.Last);
        try
        {
            if (Tmds.Linux.LibC.fsync(fd) != 0) throw new NativeException("fsync", directory, Errors.Last);
        }
        finally
        {
            Tmds.Linux.LibC.close(fd);
        }
    }
}
