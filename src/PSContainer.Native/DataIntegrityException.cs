namespace PSContainer.Native;

/// <summary>What is wrong with compressed or archived data that cannot be trusted.</summary>
public enum DataProblem
{
    /// <summary>The data ends before its format says it does (no gzip trailer, no tar end-of-archive blocks).</summary>
    Truncated,

    /// <summary>A checksum the format carries does not match the data (gzip CRC-32 or length).</summary>
    ChecksumMismatch,

    /// <summary>The data is not valid in its format.</summary>
    Corrupt,
}

/// <summary>
/// Compressed or archived data that is cut short or damaged, with what is wrong (<see cref="Problem"/>), so the
/// engine can name it: truncated, a checksum mismatch, or corrupt.
/// </summary>
public sealed class DataIntegrityException(DataProblem problem, string message) : IOException(message)
{
    public DataProblem Problem { get; } = problem;
}
