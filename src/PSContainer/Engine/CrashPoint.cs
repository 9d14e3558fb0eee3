using System.Diagnostics;

namespace PSContainer.Engine;

/// <summary>
/// $env:PSCONTAINER_CRASH_AT names a step of an operation (see docs/architecture.md: steps of a start, a creation,
/// a removal and an import): the process kills itself there with SIGKILL, as a crash would,
/// so tests can check that the next command finishes or undoes what was left. Only crash tests set it.
/// </summary>
internal static class CrashPoint
{
    public const string Variable = "PSCONTAINER_CRASH_AT";

    public static void At(string step)
    {
        if (Environment.GetEnvironmentVariable(Variable) == step) Process.GetCurrentProcess().Kill();
    }
}
