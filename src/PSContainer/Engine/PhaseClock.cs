using System.Diagnostics;

namespace PSContainer.Engine;

/// <summary>
/// Where the time of an operation goes (bench/phases.ps1): when <see cref="Enabled"/>, every crash point and phase
/// mark records the moment it was passed, and the benchmark reads the marks back to time each step between two
/// of them. Off, a mark costs one branch.
/// </summary>
public static class PhaseClock
{
    private static readonly List<(string Name, long Timestamp)> Marks = [];

    public static bool Enabled { get; set; }

    public static void Mark(string name)
    {
        if (!Enabled) return;
        long now = Stopwatch.GetTimestamp();
        lock (Marks) Marks.Add((name, now));
    }

    /// <summary>The marks since the last call, as (from, to, milliseconds) steps, and forgets them.</summary>
    public static IReadOnlyList<PhaseStep> Drain()
    {
        lock (Marks)
        {
            var steps = new List<PhaseStep>(Marks.Count);
            for (int i = 1; i < Marks.Count; i++)
                steps.Add(new PhaseStep(Marks[i - 1].Name, Marks[i].Name, Stopwatch.GetElapsedTime(Marks[i - 1].Timestamp, Marks[i].Timestamp).TotalMilliseconds));
            Marks.Clear();
            return steps;
        }
    }
}

public sealed record PhaseStep(string From, string To, double Milliseconds);
