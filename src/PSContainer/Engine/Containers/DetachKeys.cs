namespace PSContainer.Engine.Containers;

/// <summary>
/// docker's detach keys (--detach-keys, the detachKeys query parameter): a comma-separated sequence of keys, each a
/// single character, "ctrl-" with one of @ a-z [ \ ] ^ _, or DEL. Typed in order on an attached stdin they detach the
/// client and the container goes on.
/// </summary>
public static class DetachKeys
{
    /// <summary>docker's default, Ctrl+P Ctrl+Q.</summary>
    public static readonly byte[] Default = [0x10, 0x11];

    private const string ControlNames = "@abcdefghijklmnopqrstuvwxyz[\\]^_";

    /// <summary>The bytes of a sequence; null or empty text is the default. Unknown keys: InvalidDetachKeys with
    /// dockerd's message.</summary>
    public static byte[] Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return Default;
        var codes = new List<byte>();
        foreach (string key in text.Split(','))
        {
            if (key.Length == 1 && key[0] < 128) codes.Add((byte)key[0]);
            else if (key.Length == 6 && key.StartsWith("ctrl-", StringComparison.Ordinal) && ControlNames.IndexOf(key[5]) is int at and >= 0)
                codes.Add((byte)at);
            else if (key == "DEL") codes.Add(127);
            else
                throw new EngineException("InvalidDetachKeys", ErrorKind.InvalidArgument, text, $"Invalid detach keys ({text}) provided");
        }
        return [.. codes];
    }
}
