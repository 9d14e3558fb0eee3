using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>
/// The few termios and pty calls an interactive session needs: is an fd a terminal, raw mode and its undo, the
/// window size (TIOCGWINSZ/TIOCSWINSZ). The termios struct is kept opaque (glibc's is 60 bytes) and changed only by
/// cfmakeraw, so no layout of ours can drift from libc's.
/// </summary>
public static unsafe partial class Terminal
{
    private const string Libc = "libc";
    private const int TermiosSize = 64; // glibc's struct termios is 60 bytes: room to spare
    private const int TCSANOW = 0, TCSAFLUSH = 2;
    private const uint TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int isatty(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int tcsetattr(int fd, int action, byte* termios);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial void cfmakeraw(byte* termios);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, ushort* arg);

    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    /// <summary>Puts a terminal in raw mode (no echo, no line editing, no signals from keys); returns what to restore.</summary>
    public static byte[] MakeRaw(int fd)
    {
        var saved = new byte[TermiosSize];
        byte* raw = stackalloc byte[TermiosSize];
        fixed (byte* s = saved)
        {
            if (tcgetattr(fd, s) != 0) throw new NativeException("tcgetattr", fd.ToString(System.Globalization.CultureInfo.InvariantCulture), Errors.Last);
            Buffer.MemoryCopy(s, raw, TermiosSize, TermiosSize);
        }
        cfmakeraw(raw);
        if (tcsetattr(fd, TCSAFLUSH, raw) != 0) throw new NativeException("tcsetattr", fd.ToString(System.Globalization.CultureInfo.InvariantCulture), Errors.Last);
        return saved;
    }

    /// <summary>Puts back the settings <see cref="MakeRaw"/> returned. Returns false when the terminal refused (it is gone).</summary>
    public static bool Restore(int fd, byte[] saved)
    {
        fixed (byte* s = saved)
        {
            int rc;
            while ((rc = tcsetattr(fd, TCSANOW, s)) != 0 && Errors.Last == Errors.EINTR) { }
            return rc == 0;
        }
    }

    /// <summary>The window size (rows, columns) of a terminal, or null when the fd is none.</summary>
    public static (int Rows, int Columns)? GetSize(int fd)
    {
        ushort* ws = stackalloc ushort[4];
        if (ioctl(fd, TIOCGWINSZ, ws) != 0) return null;
        return (ws[0], ws[1]);
    }

    /// <summary>Sets a pty's window size; the kernel sends SIGWINCH to its foreground process group.</summary>
    public static void SetSize(int fd, int rows, int columns)
    {
        ushort* ws = stackalloc ushort[4];
        ws[0] = (ushort)Math.Clamp(rows, 0, ushort.MaxValue);
        ws[1] = (ushort)Math.Clamp(columns, 0, ushort.MaxValue);
        ws[2] = ws[3] = 0;
        if (ioctl(fd, TIOCSWINSZ, ws) != 0) throw new NativeException("ioctl TIOCSWINSZ", null, Errors.Last);
    }
}
