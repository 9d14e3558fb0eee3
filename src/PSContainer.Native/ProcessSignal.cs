namespace PSContainer.Native;

/// <summary>Signals to a process by pid (the service processes the engine starts and stops).</summary>
public static class ProcessSignal
{
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
    private const int ESRCH = 3;

    /// <summary>Sends <paramref name="signal"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, int signal)
    {
        if (Tmds.Linux.LibC.kill(pid, signal) == 0) return true;
        int err = Errors.Last;
        if (err == ESRCH) return false;
        throw new NativeException("kill", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), err);
    }

    /// <summary>Sends <paramref name="signal"/> where the caller cannot act on a failure (the process may already
    /// be gone, or a clean-up goes on regardless); true when it was delivered.</summary>
    public static bool TrySend(int pid, int signal) => Tmds.Linux.LibC.kill(pid, signal) == 0;
}
