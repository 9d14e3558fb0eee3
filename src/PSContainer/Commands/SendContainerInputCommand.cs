using System.Management.Automation;
using System.Text;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Sends input to the stdin of a running container made with -Interactive and no -Tty (docker attach with stdin, from the pipeline).</para>
/// <para type="description">Strings go as lines (each followed by a newline, as PowerShell pipes text to a native
/// command), byte arrays (and bytes piped one by one) as they are; other objects as their string form. The container's stdin pipe is held by its
/// monitor and stays open between calls, unless the container was made with StdinOnce (docker run -i): then the
/// end of this input closes it. -EndOfInput closes it in any case once everything was delivered, so a program that
/// reads to the end of its input (cat, wc, sort) finishes.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Send, "ContainerInput")]
[OutputType(typeof(void))]
public sealed class SendContainerInputCommand : PSContainerCmdlet, IDisposable
{
    private AttachConnection? connection;
    private string? connectedTo;

    /// <summary>The container's name or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [Alias("Id")]
    public string Name { get; set; } = "";

    /// <summary>What to send: strings as lines, byte arrays raw.</summary>
    [Parameter(ValueFromPipeline = true, Position = 1)]
    [AllowEmptyString]
    public object? InputObject { get; set; }

    /// <summary>Close the container's stdin after this input: it reads end-of-file.</summary>
    [Parameter]
    public SwitchParameter EndOfInput { get; set; }

    protected override void ProcessRecord()
    {
        // Containers piped by name each get their own input: the one before is finished first.
        if (connection is not null && !string.Equals(connectedTo, Name, StringComparison.Ordinal)) Finish();
        try
        {
            if (connection is null)
            {
                connection = Engine.Service.OpenStdin(Name);
                connectedTo = Name;
            }
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
        }
        if (InputObject is null) return;
        byte[] data = InputBytes(InputObject);
        if (data.Length > 0 && !connection!.SendInput(data))
            ThrowEngineError(new EngineException("ContainerNotRunning", ErrorKind.InvalidOperation, Name, $"Container {Name} exited: it takes no more input"));
    }

    /// <summary>What one pipeline object is on a container's stdin: strings (and other objects, in their string
    /// form) as lines, byte arrays raw.</summary>
    internal static byte[] InputBytes(object input) => PSObject.AsPSObject(input).BaseObject switch
    {
        byte[] raw => raw,
        byte one => [one], // a byte array piped in arrives byte by byte (as Invoke-ContainerCommand takes it)
        var o => Encoding.UTF8.GetBytes(LanguagePrimitives.ConvertTo<string>(o) + "\n"),
    };

    protected override void EndProcessing() => Finish();

    private void Finish()
    {
        if (connection is null) return;
        if (EndOfInput) connection.EndInput();
        // Closed once the monitor read everything: an early close would be taken as this input's end before its bytes.
        connection.DetachAfterDelivery(TimeSpan.FromSeconds(5));
        connection = null;
    }

    protected override void StopProcessing()
    {
        // Wakes a SendInput blocked on a container that does not read; the pipeline's Dispose closes it after.
        Volatile.Read(ref connection)?.Abort();
        base.StopProcessing();
    }

    /// <summary>A pipeline that failed or was stopped still closes the connection (PowerShell disposes its cmdlets).</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref connection, null)?.Dispose();
    }
}
