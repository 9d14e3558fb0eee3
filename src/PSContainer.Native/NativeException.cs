namespace PSContainer.Native;

/// <summary>
/// A failed system call: which step failed, on which path, with which errno. The engine turns
/// these into its own errors; keeping the three parts separate lets messages stay precise.
/// </summary>
public sealed class NativeException : IOException
{
    public NativeException(string operation, string? path, int errno)
        : base(Format(operation, path, errno), errno)
    {
        Operation = operation;
        Path = path;
        Errno = errno;
    }

    public string Operation { get; }
    public string? Path { get; }
    public int Errno { get; }

    private static string Format(string operation, string? path, int errno)
    {
        string text = Errors.Describe(errno);
        return path is null ? $"{operation}: {text} (errno {errno})" : $"{operation} '{path}': {text} (errno {errno})";
    }
}
