namespace PSContainer.Engine;

/// <summary>
/// What kind of failure an engine error is. The names match PowerShell's ErrorCategory so the cmdlet layer maps
/// them one to one without the engine depending on PowerShell.
/// </summary>
public enum ErrorKind
{
    NotSpecified,
    InvalidArgument,
    ObjectNotFound,
    ResourceExists,
    InvalidData,
    InvalidOperation,
    ResourceUnavailable,
    PermissionDenied,
    ReadError,
    WriteError,
    OperationStopped,
    SecurityError,
    NotInstalled,
}

/// <summary>An engine failure with a stable id (for FullyQualifiedErrorId), a kind and the object it concerns.</summary>
public class EngineException : Exception
{
    public EngineException(string errorId, ErrorKind kind, object? target, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public ErrorKind Kind { get; }
    public object? Target { get; }
}
