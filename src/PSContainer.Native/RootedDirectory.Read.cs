using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PSContainer.Native;

/// <summary>What <see cref="RootedDirectory.TryReadRegularFile"/> found at a path.</summary>
public enum RootedFileStatus
{
    /// <summary>A regular file no larger than the limit: its content was read.</summary>
    Read,
    /// <summary>Nothing there (ENOENT), or a component on the way is not a directory (ENOTDIR).</summary>
    Missing,
    /// <summary>A FIFO, device, socket or directory: never opened for reading.</summary>
    NotRegular,
    /// <summary>A regular file larger than the limit: not read.</summary>
    TooLarge,
}

public sealed unsafe partial class RootedDirectory
{
    private const int O_NOCTTY = 0x100, O_NONBLOCK = 0x800;

    /// <summary>
    /// Reads a small regular file of the tree (an image's /etc/passwd) as the kernel resolves it inside the root:
    /// symlinks, absolute or with "..", stay in the tree, /proc magic links are refused. The path is first opened
    /// O_PATH and checked with fstat, so a FIFO (whose open would block), a device (whose open may act) or a
    /// directory is never opened for reading; the file checked is then reopened through its descriptor, so what is
    /// read is the inode checked. A file growing past <paramref name="maxBytes"/> while read counts as too large.
    /// </summary>
    public RootedFileStatus TryReadRegularFile(string relativePath, int maxBytes, out byte[] content)
    {
        content = [];
        int pathFd = TryOpenInRoot(relativePath.TrimStart('/'), Sys.O_PATH | Sys.O_CLOEXEC, out int err);
        if (pathFd < 0)
        {
            if (err == Errors.ENOENT || err == Errors.ENOTDIR) return RootedFileStatus.Missing;
            throw new NativeException("open", Describe(relativePath), err);
        }
        try
        {
            stat st;
            if (fstat(pathFd, &st) != 0) throw new NativeException("stat", Describe(relativePath), Errors.Last);
            if (((uint)st.st_mode & Sys.S_IFMT) != Sys.S_IFREG) return RootedFileStatus.NotRegular;
            if ((long)st.st_size > maxBytes) return RootedFileStatus.TooLarge;

            byte[] self = Sys.Z($"/proc/self/fd/{pathFd}");
            int fd;
            fixed (byte* ps = self) fd = open(ps, Sys.O_RDONLY | Sys.O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
            if (fd < 0) throw new NativeException("open", Describe(relativePath), Errors.Last);
            try
            {
                var buffer = new byte[maxBytes + 1];
                int total = 0;
                while (total < buffer.Length)
                {
                    ssize_t n;
                    fixed (byte* pb = &buffer[total]) n = read(fd, pb, (size_t)(buffer.Length - total));
                    if (n < 0 && Errors.Last == Errors.EINTR) continue;
                    if (n < 0) throw new NativeException("read", Describe(relativePath), Errors.Last);
                    if (n == 0) break;
                    total += (int)n;
                }
                if (total > maxBytes) return RootedFileStatus.TooLarge;
                content = buffer[..total];
                return RootedFileStatus.Read;
            }
            finally
            {
                close(fd);
            }
        }
        finally
        {
            close(pathFd);
        }
    }
}
