using PSContainer.Engine;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>docker's --detach-keys syntax, the filter that watches a client's input for the sequence, and the signal
/// names docker stop -s takes.</summary>
public sealed class DetachKeysTests
{
    [Theory]
    [InlineData(null, new byte[] { 0x10, 0x11 })]
    [InlineData("", new byte[] { 0x10, 0x11 })]
    [InlineData("ctrl-p,ctrl-q", new byte[] { 0x10, 0x11 })]
    [InlineData("ctrl-x,y", new byte[] { 0x18, (byte)'y' })]
    [InlineData("ctrl-@,ctrl-_,ctrl-\\,DEL,a", new byte[] { 0, 31, 28, 127, (byte)'a' })]
    public void ParsesDockersSyntax(string? text, byte[] expected) => Assert.Equal(expected, DetachKeys.Parse(text));

    [Theory]
    [InlineData("ctrl-")]
    [InlineData("ctrl-P")]
    [InlineData("ctrl-1")]
    [InlineData("ab")]
    [InlineData("a,,b")]
    [InlineData("é")]
    public void RefusesUnknownKeysWithDockersMessage(string text)
    {
        var e = Assert.Throws<EngineException>(() => DetachKeys.Parse(text));
        Assert.Equal("InvalidDetachKeys", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal($"Invalid detach keys ({text}) provided", e.Message);
    }

    [Fact]
    public void FilterDetachesOnACustomSequenceAndPassesBrokenPrefixesOn()
    {
        var f = new DetachKeyFilter(DetachKeys.Parse("ctrl-x,y,z"));
        var (send, detach) = f.Filter("a\u0018yb"u8);
        Assert.Equal("a\u0018yb"u8.ToArray(), send);
        Assert.False(detach);
        // Split across reads, and a prefix that starts again inside itself.
        (send, detach) = f.Filter("c\u0018"u8);
        Assert.Equal("c"u8.ToArray(), send);
        Assert.False(detach);
        (send, detach) = f.Filter("\u0018yzrest"u8);
        Assert.Equal("\u0018"u8.ToArray(), send);
        Assert.True(detach);
    }

    [Fact]
    public void EmptySequenceNeverDetaches()
    {
        var (send, detach) = new DetachKeyFilter([]).Filter([0x10, 0x11]);
        Assert.Equal(new byte[] { 0x10, 0x11 }, send);
        Assert.False(detach);
    }

    [Theory]
    [InlineData("SIGUSR1", "SIGUSR1")]
    [InlineData("usr1", "SIGUSR1")]
    [InlineData("TERM", "SIGTERM")]
    [InlineData("9", "9")]
    [InlineData("SIGRTMIN+3", "SIGRTMIN+3")]
    public void NormalisesSignalNames(string given, string expected) => Assert.Equal(expected, SignalName.Normalize(given));

    [Theory]
    [InlineData("BOGUS")]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-1")]
    public void RefusesUnknownSignalsWithDockersMessage(string given)
    {
        var e = Assert.Throws<EngineException>(() => SignalName.Normalize(given));
        Assert.Equal("InvalidSignal", e.ErrorId);
        Assert.Equal($"Invalid signal: {given}", e.Message);
    }
}
