using System.Buffers.Binary;

namespace PSContainer.Engine.Containers;

/// <summary>
/// The client side of psc-monitor's attach socket (see monitor/console.c): the monitor sends the terminal's output
/// as raw bytes; the client sends frames of [type: 1 byte][length: 2 bytes big-endian][payload], type 0 keystrokes,
/// type 1 the window size (rows, columns as 2-byte big-endian numbers), payloads at most <see cref="MaxPayload"/>.
/// </summary>
public static class AttachProtocol
{
    public const byte Input = 0, Resize = 1;
    /// <summary>Only on a stdin pipe's socket (monitor/stdin.c): close the container's stdin once what came before
    /// is delivered. No payload.</summary>
    public const byte CloseStdin = 2;
    public const int MaxPayload = 4096;

    /// <summary>The frame that ends the container's stdin (a container with a stdin pipe, no terminal).</summary>
    public static byte[] CloseStdinFrame() => [CloseStdin, 0, 0];

    /// <summary>Keystrokes as input frames (split at <see cref="MaxPayload"/>).</summary>
    public static byte[] InputFrames(ReadOnlySpan<byte> keys)
    {
        int frames = (keys.Length + MaxPayload - 1) / MaxPayload;
        var result = new byte[keys.Length + 3 * frames];
        int at = 0;
        while (keys.Length > 0)
        {
            int n = Math.Min(keys.Length, MaxPayload);
            result[at] = Input;
            BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(at + 1), (ushort)n);
            keys[..n].CopyTo(result.AsSpan(at + 3));
            at += 3 + n;
            keys = keys[n..];
        }
        return result;
    }

    /// <summary>A window-size frame; sizes beyond 65535 are clamped.</summary>
    public static byte[] ResizeFrame(int rows, int columns)
    {
        var frame = new byte[7];
        frame[0] = Resize;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), 4);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(3), (ushort)Math.Clamp(rows, 0, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(5), (ushort)Math.Clamp(columns, 0, ushort.MaxValue));
        return frame;
    }

    /// <summary>
    /// Reads frames back (what the monitor does; for tests and diagnostics): the complete frames at the start of
    /// <paramref name="data"/> and how many bytes they took. A frame of another type or a longer payload is an error.
    /// </summary>
    public static (List<(byte Type, byte[] Payload)> Frames, int Consumed) Parse(ReadOnlySpan<byte> data)
    {
        var frames = new List<(byte, byte[])>();
        int at = 0;
        while (data.Length - at >= 3)
        {
            byte type = data[at];
            int len = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 1)..]);
            if (type > Resize || len > MaxPayload || (type == Resize && len != 4))
                throw new InvalidDataException($"Attach frame of type {type} and length {len} is not valid.");
            if (data.Length - at < 3 + len) break;
            frames.Add((type, data.Slice(at + 3, len).ToArray()));
            at += 3 + len;
        }
        return (frames, at);
    }
}
