using System.Management.Automation;
using System.Runtime.Serialization;

namespace PSContainer.Host;

/// <summary>
/// A line a container wrote to its standard error, as the error record pwsh 7.4+ makes for a line of a native
/// command's stderr: a RemoteException with the line as its message, FullyQualifiedErrorId NativeCommandError for
/// the first line and NativeCommandErrorMessage after, category NotSpecified. PowerShell's error view prints just
/// the message for those two ids, so the line reads as the container wrote it, not as a failure of the cmdlet
/// ("Start-Container: ... Line |"), while it stays in the error stream for 2&gt;, 2&gt;&amp;1 and -ErrorVariable.
/// </summary>
/// <remarks>
/// A cmdlet's WriteError appends ",&lt;cmdlet type&gt;" to FullyQualifiedErrorId, which would turn the view's
/// special case off; only a record that came through serialization keeps the id it was given (as remoting relies
/// on). So the record is rebuilt from its serialized form through ErrorRecord's serialization constructor.
/// </remarks>
public sealed class NativeErrorLineRecord : ErrorRecord
{
    /// <summary>pwsh's id for a native command's first stderr line.</summary>
    public const string FirstLineId = "NativeCommandError";

    /// <summary>pwsh's id for the stderr lines after the first.</summary>
    public const string NextLineId = "NativeCommandErrorMessage";

    private NativeErrorLineRecord(SerializationInfo info, StreamingContext context) : base(info, context)
    {
    }

    /// <param name="line">The line, without its newline.</param>
    /// <param name="first">Whether it is the first stderr line of this run.</param>
    /// <param name="target">What wrote it (the container's name).</param>
    public static ErrorRecord Create(string line, bool first, string target)
    {
#pragma warning disable SYSLIB0050 // The legacy serialization types are the only public way to that constructor.
        var info = new SerializationInfo(typeof(ErrorRecord), new FormatterConverter());
#pragma warning restore SYSLIB0050
        info.AddValue("CliXml", Serialized(line, first ? FirstLineId : NextLineId, target));
        return new NativeErrorLineRecord(info, default);
    }

    /// <summary>
    /// The record as remoting sends one (MS-PSRP's ErrorRecord: these properties on a property bag, which
    /// PSObject.GetObjectData wraps once more), written directly: PSSerializer on a whole ErrorRecord and its
    /// exception costs half a millisecond a line, which a chatty container's stderr would feel.
    /// </summary>
    internal static string Serialized(string line, string errorId, string target)
    {
        string t = Encode(target), l = Encode(line);
        return "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj RefId=\"0\"><Obj RefId=\"1\"><MS>" +
               $"<Obj N=\"Exception\" RefId=\"2\"><MS><S N=\"Message\">{l}</S></MS></Obj>" +
               $"<S N=\"TargetObject\">{t}</S>" +
               $"<S N=\"FullyQualifiedErrorId\">{errorId}</S>" +
               "<Nil N=\"InvocationInfo\" />" +
               $"<I32 N=\"ErrorCategory_Category\">{(int)ErrorCategory.NotSpecified}</I32>" +
               "<S N=\"ErrorCategory_Activity\"></S>" +
               "<S N=\"ErrorCategory_Reason\">RemoteException</S>" +
               $"<S N=\"ErrorCategory_TargetName\">{t}</S>" +
               "<S N=\"ErrorCategory_TargetType\">String</S>" +
               // The deserializer takes this as the exception's message when the line is blank: keep the blank line.
               $"<S N=\"ErrorCategory_Message\">{(string.IsNullOrWhiteSpace(line) ? l : $"NotSpecified: ({t}:String) [], RemoteException")}</S>" +
               "<B N=\"SerializeExtendedInfo\">false</B>" +
               "</MS></Obj></Obj></Objs>";
    }

    /// <summary>
    /// A string as CliXml carries it: PowerShell's serializer writes control characters (0x00-0x1F, 0x7F-0x9F),
    /// surrogates and a '_' before 'x' as _xHHHH_ (which its deserializer decodes), then XML escapes the rest.
    /// </summary>
    internal static string Encode(string text)
    {
        var s = new System.Text.StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool encode = c <= 0x1F || (c >= 0x7F && c <= 0x9F) || char.IsSurrogate(c) ||
                          (c == '_' && i + 1 < text.Length && (text[i + 1] == 'x' || text[i + 1] == 'X'));
            if (encode) s.Append("_x").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture)).Append('_');
            else if (c == '&') s.Append("&amp;");
            else if (c == '<') s.Append("&lt;");
            else if (c == '>') s.Append("&gt;");
            else s.Append(c);
        }
        return s.ToString();
    }
}
