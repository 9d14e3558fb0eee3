using System.Buffers.Binary;
using System.Text;

namespace PSContainer.Api;

/// <summary>The stream a frame of a multiplexed (non-TTY) attach or logs stream carries.</summary>
public enum StreamType : byte { Stdin = 0, Stdout = 1, Stderr = 2 }

/// <summary>
/// Docker's multiplexed stream framing for containers without a TTY: each frame is an 8-byte header (the stream
/// type, three zero bytes, the payload length as a big-endian uint32) followed by the payload.
/// </summary>
public static class FrameWriter
{
    public const int HeaderLength = 8;

    public static byte[] Frame(StreamType stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderLength + payload.Length];
        frame[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4, 4), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    public static byte[] Frame(StreamType stream, string text) => Frame(stream, Encoding.UTF8.GetBytes(text));

    /// <summary>Writes one frame and flushes it, so a follower sees each line as it comes.</summary>
    public static async Task WriteAsync(Stream output, StreamType stream, string text, CancellationToken cancel)
    {
        if (text.Length == 0) return; // an empty frame means nothing to a client; dockerd sends none
        await output.WriteAsync(Frame(stream, text), cancel);
        await output.FlushAsync(cancel);
    }
}
