using System.Globalization;
using System.Runtime.InteropServices;

namespace PSContainer.Native;

/// <summary>Signals to a process by pid (the service processes the engine starts and stops), or by pidfd.</summary>
public static unsafe partial class ProcessSignal
{
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
    private const int ESRCH = 3, EPERM = 1, ENOSYS = 38;
    private const long SYS_pidfd_send_signal = 424;
    private const int SI_QUEUE = -1;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SendSignalSyscall(long number, int pidfd, int signal, void* info, uint flags);

    /// <summary>Sends <paramref name="signal"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, int signal)
    {
        if (Tmds.Linux.LibC.kill(pid, signal) == 0) return true;
        int err = Errors.Last;
        if (err == ESRCH) return false;
        throw new NativeException("kill", pid.ToString(CultureInfo.InvariantCulture), err);
    }

    /// <summary>Sends <paramref name="signal"/> where the caller cannot act on a failure (the process may already
    /// be gone, or a clean-up goes on regardless); true when it was delivered.</summary>
    public static bool TrySend(int pid, int signal) => Tmds.Linux.LibC.kill(pid, signal) == 0;

    /// <summary>
    /// Queues <paramref name="signal"/> with <paramref name="value"/> as its sigqueue value (SI_QUEUE) to the process
    /// a pidfd holds: the very process the pidfd was opened for, never one that reused its pid. False when it has
    /// exited or the call is refused (then signal it another way).
    /// </summary>
    public static bool Queue(int pidfd, int signal, int value)
    {
        // siginfo_t (128 bytes) as the kernel reads it for SI_QUEUE: si_signo, si_errno, si_code, then at 16 the
        // sender's pid and uid and at 24 the sigval, whose int is its low half (little-endian on every arch .NET
        // runs this on).
        byte* info = stackalloc byte[128];
        new Span<byte>(info, 128).Clear();
        *(int*)info = signal;
        *(int*)(info + 8) = SI_QUEUE;
        *(int*)(info + 16) = Environment.ProcessId;
        *(uint*)(info + 20) = Tmds.Linux.LibC.getuid();
        *(int*)(info + 24) = value;
        if (SendSignalSyscall(SYS_pidfd_send_signal, pidfd, signal, info, 0) == 0) return true;
        int err = Errors.Last;
        // EPERM, ENOSYS: a seccomp filter or an LSM of an outer sandbox refuses the call; the caller has another way
        if (err is ESRCH or EPERM or ENOSYS) return false;
        throw new NativeException("pidfd_send_signal", signal.ToString(CultureInfo.InvariantCulture), err);
    }

    /// <summary>Whether process <paramref name="pid"/> blocks <paramref name="signal"/> (SigBlk in /proc/PID/status;
    /// its main thread's mask): false when it does not, or is gone.</summary>
    public static bool Blocks(int pid, int signal)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        int at = text.IndexOf("\nSigBlk:", StringComparison.Ordinal);
        if (at < 0 || signal is < 1 or > 64) return false;
        int end = text.IndexOf('\n', at + 1);
        var hex = text.AsSpan(at + 8, (end < 0 ? text.Length : end) - at - 8).Trim();
        return ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong mask)
               && (mask & (1UL << (signal - 1))) != 0;
    }
}
