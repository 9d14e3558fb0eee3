using System.Net.Sockets;
using PSContainer.Native;

namespace PSContainer.Api;

/// <summary>The listening socket's file: a stale one is replaced, a live one refused; made 0660 root:group as
/// docker.sock is, without a moment of a wider mode (the umask is narrowed while Kestrel binds).</summary>
public static class UnixSocket
{
    public static void PrepareFor(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path) && !Path.Exists(path)) return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"{path} is in use: another server answers on it");
            }
            catch (SocketException)
            {
                // Nobody listens: a socket left by a server that was killed.
            }
        }
        File.Delete(path);
    }

    /// <summary>Runs <paramref name="bind"/> with umask 0117, so the socket is born 0660.</summary>
    public static async Task BindNarrow(Func<Task> bind)
    {
        int old = SocketFile.SetUmask(0x4F); // 0117
        try
        {
            await bind();
        }
        finally
        {
            SocketFile.SetUmask(old);
        }
    }

    public static void SetOwner(string path, uint? gid)
    {
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        SocketFile.Chown(path, 0, gid ?? 0);
    }
}
