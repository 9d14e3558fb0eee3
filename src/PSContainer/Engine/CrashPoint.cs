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
        PhaseClock.Mark(step);
        if (Environment.GetEnvironmentVariable(Variable) == step) Process.GetCurrentProcess().Kill();
    }

    public const string PauseVariable = "PSCONTAINER_PAUSE_AT";

    /// <summary>
    /// $env:PSCONTAINER_PAUSE_AT="step:FILE" makes the process create FILE at that step and wait (at most a minute)
    /// until the test deletes it, so a test can change the host at exactly that moment (a race made deterministic).
    /// </summary>
    public static void PauseAt(string step)
    {
        if (Environment.GetEnvironmentVariable(PauseVariable) is not { } value || !value.StartsWith(step + ":", StringComparison.Ordinal)) return;
        string file = value[(step.Length + 1)..];
        File.WriteAllText(file, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (File.Exists(file) && DateTime.UtcNow < deadline) Thread.Sleep(10);
    }
}
