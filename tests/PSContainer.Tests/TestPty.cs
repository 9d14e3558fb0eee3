using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>A real pty pair for terminal tests: the master fd (the user's side), and the slave opened by its name.</summary>
internal sealed class TestPty : IDisposable
{
    [DllImport("libc", SetLastError = true)]
    private static extern int posix_openpt(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int unlockpt(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int ptsname_r(int fd, byte[] buffer, nint length);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    public readonly int Master;
    public readonly SafeFileHandle Slave;
    public int SlaveFd => (int)Slave.DangerousGetHandle();

    public TestPty()
    {
        Master = posix_openpt(Sys.O_RDWR | 0x100 /* O_NOCTTY */ | Sys.O_CLOEXEC);
        Assert.True(Master >= 0, $"posix_openpt: errno {Marshal.GetLastPInvokeError()}");
        Assert.Equal(0, unlockpt(Master));
        var name = new byte[256];
        Assert.Equal(0, ptsname_r(Master, name, name.Length));
        Slave = File.OpenHandle(Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0)), FileMode.Open, FileAccess.ReadWrite);
    }

    /// <summary>Types on the master side; returns what the terminal echoes back within <paramref name="milliseconds"/>.</summary>
    public string TypeAndReadEcho(string text, int milliseconds)
    {
        Assert.True(UnixSocket.WriteAll(Master, Encoding.ASCII.GetBytes(text)));
        var buffer = new byte[256];
        var echoed = new StringBuilder();
        while (UnixSocket.Wait(Master, UnixSocket.POLLIN, milliseconds))
        {
            int n = UnixSocket.Read(Master, buffer);
            if (n <= 0) break;
            echoed.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return echoed.ToString();
    }

    public void Dispose()
    {
        Slave.Dispose();
        close(Master);
    }
}
