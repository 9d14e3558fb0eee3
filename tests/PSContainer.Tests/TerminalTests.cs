using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using PSContainer.Engine.Containers;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The attach socket's framing, the detach keys, and raw mode and window sizes on a real pty.</summary>
public sealed class TerminalTests
{
    [Fact]
    public void InputIsFramedAndSplitAtTheMaximumPayload()
    {
        var keys = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        byte[] wire = AttachProtocol.InputFrames(keys);
        Assert.Equal(5000 + 2 * 3, wire.Length);
        Assert.Equal([AttachProtocol.Input, 0x10, 0x00], wire[..3]); // 4096, big-endian
        var (frames, consumed) = AttachProtocol.Parse(wire);
        Assert.Equal(wire.Length, consumed);
        Assert.Equal([4096, 904], frames.Select(f => f.Payload.Length));
        Assert.All(frames, f => Assert.Equal(AttachProtocol.Input, f.Type));
        Assert.Equal(keys, frames.SelectMany(f => f.Payload).ToArray());
    }

    [Fact]
    public void AResizeIsRowsThenColumnsBigEndian()
    {
        Assert.Equal([1, 0, 4, 0, 40, 1, 44], AttachProtocol.ResizeFrame(40, 300));
        Assert.Equal([1, 0, 4, 0xff, 0xff, 0, 0], AttachProtocol.ResizeFrame(100000, -5));
    }

    [Fact]
    public void OnlyCompleteFramesAreTaken()
    {
        byte[] wire = [.. AttachProtocol.InputFrames("ls\r"u8), .. AttachProtocol.ResizeFrame(24, 80)];
        var (frames, consumed) = AttachProtocol.Parse(wire.AsSpan(0, wire.Length - 2));
        Assert.Single(frames);
        Assert.Equal(6, consumed);
        Assert.Equal("ls\r"u8.ToArray(), frames[0].Payload);
        Assert.Empty(AttachProtocol.Parse(wire.AsSpan(0, 2)).Frames);
    }

    [Theory]
    [InlineData(new byte[] { 7, 0, 1, 0 })]           // unknown type
    [InlineData(new byte[] { 1, 0, 3, 0, 0, 0 })]     // resize of the wrong length
    [InlineData(new byte[] { 0, 0x10, 0x01 })]        // longer than the maximum payload
    public void AMalformedFrameIsAnError(byte[] wire) =>
        Assert.Throws<InvalidDataException>(() => AttachProtocol.Parse(wire));

    [Fact]
    public void CtrlPCtrlQDetachesAfterSendingWhatCameBefore()
    {
        var filter = new DetachKeyFilter(enabled: true);
        var (send, detach) = filter.Filter([(byte)'a', (byte)'b', 0x10, 0x11, (byte)'c']);
        Assert.True(detach);
        Assert.Equal("ab"u8.ToArray(), send);
    }

    [Fact]
    public void AHeldCtrlPGoesOnWithTheNextKeyEvenInTheNextRead()
    {
        var filter = new DetachKeyFilter(enabled: true);
        var first = filter.Filter([(byte)'x', 0x10]);
        Assert.False(first.Detach);
        Assert.Equal("x"u8.ToArray(), first.Send);
        var second = filter.Filter([(byte)'y']);
        Assert.False(second.Detach);
        Assert.Equal([0x10, (byte)'y'], second.Send);
        var third = filter.Filter([0x10, 0x10, 0x11]);
        Assert.True(third.Detach);
        Assert.Equal([0x10], third.Send);
    }

    [Fact]
    public void WithoutDetachKeysEverythingGoesThrough()
    {
        var (send, detach) = new DetachKeyFilter(enabled: false).Filter([0x10, 0x11]);
        Assert.False(detach);
        Assert.Equal([0x10, 0x11], send);
    }

    [Fact]
    public void RawModeStopsTheEchoAndRestoreBringsItBack()
    {
        using var pty = new TestPty();
        int fd = pty.SlaveFd;
        Assert.True(Terminal.IsTerminal(fd));
        Assert.Contains("abc", pty.TypeAndReadEcho("abc\n", 500), StringComparison.Ordinal);
        byte[] saved = Terminal.MakeRaw(fd);
        Assert.Equal("", pty.TypeAndReadEcho("def\n", 500));
        Assert.True(Terminal.Restore(fd, saved));
        Assert.Contains("ghi", pty.TypeAndReadEcho("ghi\n", 500), StringComparison.Ordinal);
    }

    [Fact]
    public void TheWindowSizeSetOnTheMasterIsWhatTheSlaveSees()
    {
        using var pty = new TestPty();
        Terminal.SetSize(pty.Master, 33, 121);
        Assert.Equal((33, 121), Terminal.GetSize(pty.SlaveFd));
        Assert.Null(Terminal.GetSize(-1));
        Assert.False(Terminal.IsTerminal(-1));
    }
}
