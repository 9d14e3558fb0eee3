namespace PSContainer.Native;

/// <summary>
/// What a server needs to give its Unix socket docker.sock's permissions: a narrowed umask while it binds (so the
/// socket is never reachable with a wider mode) and its owner set afterwards.
/// </summary>
public static class SocketFile
{
    /// <summary>Sets the process umask; returns the previous one.</summary>
    public static int SetUmask(int mask) => (int)(uint)Tmds.Linux.LibC.umask((Tmds.Linux.mode_t)(ushort)mask);

    public static unsafe void Chown(string path, uint uid, uint gid)
    {
        byte[] p = Sys.Z(path);
        int rc;
        fixed (byte* pp = p) rc = Tmds.Linux.LibC.chown(pp, (Tmds.Linux.uid_t)uid, (Tmds.Linux.gid_t)gid);
        if (rc != 0) throw new NativeException("chown", path, Errors.Last);
    }
}
