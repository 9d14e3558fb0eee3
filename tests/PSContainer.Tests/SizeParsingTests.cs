using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Host;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Byte sizes as docker users and PowerShell users write them (ByteSize, SizeTransformationAttribute): Docker's
/// binary units in any case and spelling, plain bytes, PowerShell's numeric sizes, and clear refusals.
/// </summary>
public sealed class SizeParsingTests
{
    private const long K = 1024, M = K * K, G = M * K, T = G * K, P = T * K;

    public static TheoryData<string, long> GoodText() => new()
    {
        { "1048576", 1048576 },
        { "0", 0 },
        { "100b", 100 },
        { "100B", 100 },
        { "512k", 512 * K },
        { "512K", 512 * K },
        { "512kb", 512 * K },
        { "64m", 64 * M },
        { "64M", 64 * M },
        { "64mb", 64 * M },
        { "64MB", 64 * M },
        { "64Mb", 64 * M },
        { "64mib", 64 * M },
        { "64MiB", 64 * M },
        { "64 m", 64 * M },
        { " 64m ", 64 * M },
        { "1g", G },
        { "1gb", G },
        { "1G", G },
        { "2t", 2 * T },
        { "1p", P },
        { "1.5g", 3 * G / 2 },
        { "0.5k", 512 },
        // Fractions of a byte are dropped, as docker's int64(size * unit) does.
        { "0.3k", 307 },
        { "1.5", 1 },
        { "8191p", 8191 * P },
    };

    [Theory]
    [MemberData(nameof(GoodText))]
    public void ReadsDockerAndPowerShellSpellings(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, allowUnlimited: false, out long bytes, out string? error), error);
        Assert.Equal(expected, bytes);
    }

    public static TheoryData<string> BadText() => new()
    {
        "",
        " ",
        "64x",
        "m",
        "mb",
        "-1",
        "-64m",
        ".5g",
        "5.g",
        "1..5g",
        "1e3",
        "0x10",
        "64 mb b",
        "64  m",
        "64bb",
        "64mbb",
        "64mab",
        "64bi",
        "64ib",
        "64kibb",
        "sixty-four",
        "64m64",
        "1,024",
        "8192p",
        "99999999999999999999",
        "99999999999999999999999p",
        "9999999999999999999999999999999999",
        "8388608t",
    };

    [Theory]
    [MemberData(nameof(BadText))]
    public void RefusesWhatIsNotASizeAndSaysWhatWorks(string text)
    {
        Assert.False(ByteSize.TryParse(text, allowUnlimited: false, out _, out string? error));
        Assert.NotNull(error);
        Assert.Contains($"'{text}'", error);
        if (!error!.Contains("too large", StringComparison.Ordinal)) Assert.Contains(ByteSize.AcceptedForms, error);
    }

    [Fact]
    public void TheErrorNamesTheAcceptedForms()
    {
        Assert.False(ByteSize.TryParse("64x", false, out _, out string? error));
        Assert.Equal("'64x' is not a size; use a number of bytes, a PowerShell size like 64MB, or Docker's 64m, 1g, 512k, 100b.", error);
    }

    [Theory]
    [InlineData("8192p")]
    [InlineData("8388608t")]
    [InlineData("99999999999999999999")]
    [InlineData("99999999999999999999999p")]
    [InlineData("9999999999999999999999999999999999")]
    public void TooLargeIsSaidSo(string text)
    {
        Assert.False(ByteSize.TryParse(text, false, out _, out string? error));
        Assert.Contains("too large", error);
    }

    [Fact]
    public void MinusOneMeansUnlimitedOnlyWhereAllowed()
    {
        Assert.True(ByteSize.TryParse("-1", allowUnlimited: true, out long bytes, out _));
        Assert.Equal(ByteSize.Unlimited, bytes);
        Assert.False(ByteSize.TryParse("-1", allowUnlimited: false, out _, out _));
        Assert.False(ByteSize.TryParse("-2", allowUnlimited: true, out _, out string? text));
        Assert.Contains("only -1", text);
        Assert.False(ByteSize.TryParse("-64m", allowUnlimited: false, out _, out text));
        Assert.Contains("negative", text);
        Assert.True(ByteSize.TryFromNumber(-1, allowUnlimited: true, out bytes, out _));
        Assert.Equal(-1, bytes);
        Assert.False(ByteSize.TryFromNumber(-1, allowUnlimited: false, out _, out string? error));
        Assert.Contains("negative", error);
        Assert.False(ByteSize.TryFromNumber(-2, allowUnlimited: true, out _, out error));
        Assert.Contains("only -1", error);
        Assert.True(ByteSize.TryFromDouble(-1.0, allowUnlimited: true, out bytes, out _));
        Assert.Equal(-1, bytes);
        Assert.False(ByteSize.TryFromDouble(-1.0, allowUnlimited: false, out _, out error));
        Assert.Contains("negative", error);
    }

    public static TheoryData<object, long> GoodObjects() => new()
    {
        // What PowerShell hands the attribute: its 64MB literal is an int or a long, 1.5GB a double.
        { 64 * (int)M, 64 * M },
        { 64 * M, 64 * M },
        { 1.5 * G, 3 * G / 2 },
        // 1.5PB as a double has 16 digits: it must not go through a 15-digit rounding on its way to a long.
        { 1.5 * P, 3 * P / 2 },
        { 8191.0 * P, 8191 * P },
        { 1048576.0f, M },
        { 4096m, 4096 },
        { (byte)8, 8 },
        { (ulong)G, G },
        { "64m", 64 * M },
        { "64MB", 64 * M },
        { new PSObject("1g"), G },
        { new PSObject(64 * M), 64 * M },
    };

    [Theory]
    [MemberData(nameof(GoodObjects))]
    public void TheAttributeTakesNumbersAndText(object input, long expected)
    {
        var attribute = new SizeTransformationAttribute();
        Assert.Equal(expected, attribute.Transform(null!, input));
    }

    public static TheoryData<object> BadObjects() => new()
    {
        "64x",
        -1,
        -1L,
        10.5,
        double.NaN,
        double.PositiveInfinity,
        1e30,
        9223372036854775808.0,
        -2.0,
        ulong.MaxValue,
        true,
        new object[] { 1, 2 },
        new PSObject("64x"),
    };

    [Theory]
    [MemberData(nameof(BadObjects))]
    public void TheAttributeRefusesWithTheAcceptedForms(object input)
    {
        var attribute = new SizeTransformationAttribute();
        var e = Assert.Throws<ArgumentTransformationMetadataException>(() => attribute.Transform(null!, input));
        Assert.Contains("size", e.Message);
    }

    [Fact]
    public void TheAttributeLetsMinusOneThroughOnlyWhenUnlimitedIsAllowed()
    {
        var swap = new SizeTransformationAttribute { AllowUnlimited = true };
        Assert.Equal(-1L, swap.Transform(null!, -1));
        Assert.Equal(-1L, swap.Transform(null!, "-1"));
        Assert.Equal(2 * G, swap.Transform(null!, "2g"));
        Assert.Throws<ArgumentTransformationMetadataException>(() => swap.Transform(null!, -2));
        Assert.Throws<ArgumentTransformationMetadataException>(() => new SizeTransformationAttribute().Transform(null!, "-1"));
    }

    [Fact]
    public void TheAttributeLeavesNullAlone()
    {
        Assert.Null(new SizeTransformationAttribute().Transform(null!, null));
    }

    [Fact]
    public void EveryByteSizeParameterReadsSizesAlike()
    {
        // Each [long] parameter that is a number of bytes carries the attribute; -MemorySwap alone takes -1.
        var sizes = typeof(PSContainerCmdlet).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.GetCustomAttributes(typeof(CmdletAttribute), false).Length > 0)
            .SelectMany(t => t.GetProperties())
            .Where(p => p.Name is "Memory" or "MemorySwap" or "ChunkSize")
            .ToList();
        Assert.NotEmpty(sizes);
        foreach (var p in sizes)
        {
            var attribute = p.GetCustomAttributes(typeof(SizeTransformationAttribute), true).Cast<SizeTransformationAttribute>().SingleOrDefault();
            Assert.True(attribute is not null, $"{p.DeclaringType!.Name}.{p.Name} has no [SizeTransformation]");
            Assert.Equal(p.Name == "MemorySwap", attribute!.AllowUnlimited);
        }
    }
}
