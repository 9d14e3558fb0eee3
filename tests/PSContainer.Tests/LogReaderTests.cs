using System.Diagnostics;
using System.Text;
using PSContainer.Engine.Containers;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The CRI (k8s-file) log reader: "TIME STREAM F|P TEXT" records, RFC3339Nano times.</summary>
public sealed class LogReaderTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static DateTime Utc(int h, int m, int s, long ticks = 0) =>
        new DateTime(2026, 11, 28, h, m, s, DateTimeKind.Utc).AddTicks(ticks);

    // ---- TryParse -------------------------------------------------------------------------------------------------

    [Fact]
    public void ParsesAFullRecordWithNanoseconds()
    {
        Assert.True(LogReader.TryParse("2026-11-28T06:06:02.123456789Z stdout F hello world", out var time, out var stream, out bool partial, out var text));
        // .NET keeps 100 ns ticks: the nanoseconds are rounded to one.
        Assert.InRange(time.Ticks, Utc(6, 6, 2, 1234567).Ticks, Utc(6, 6, 2, 1234568).Ticks);
        Assert.Equal(DateTimeKind.Utc, time.Kind);
        Assert.Equal("stdout", stream);
        Assert.False(partial);
        Assert.Equal("hello world", text);
    }

    [Fact]
    public void ParsesAPartialRecord()
    {
        Assert.True(LogReader.TryParse("2026-11-28T06:06:02.5Z stderr P  two  spaces ", out var time, out var stream, out bool partial, out var text));
        Assert.Equal(Utc(6, 6, 2, 5_000_000), time);
        Assert.Equal("stderr", stream);
        Assert.True(partial);
        // The text is everything after the tag's single separator, spaces included.
        Assert.Equal(" two  spaces ", text);
    }

    [Theory]
    [InlineData("2026-11-28T06:06:02Z stdout F x")]                    // RFC3339Nano drops a zero fraction
    [InlineData("2026-11-28T08:06:02+02:00 stdout F x")]               // an offset is converted to UTC
    [InlineData("2026-11-28T01:06:02.000000000-05:00 stdout F x")]
    public void TimesAreRfc3339InUtc(string record)
    {
        Assert.True(LogReader.TryParse(record, out var time, out _, out _, out var text));
        Assert.Equal(Utc(6, 6, 2), time);
        Assert.Equal(DateTimeKind.Utc, time.Kind);
        Assert.Equal("x", text);
    }

    [Theory]
    [InlineData("2026-11-28T06:06:02.1Z stdout F ")]   // an empty line as the monitor writes it
    [InlineData("2026-11-28T06:06:02.1Z stdout F")]    // and without the separator
    public void EmptyLines(string record)
    {
        Assert.True(LogReader.TryParse(record, out _, out var stream, out bool partial, out var text));
        Assert.Equal("stdout", stream);
        Assert.False(partial);
        Assert.Equal("", text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("2026-11-28T06:06:02Z stdout")]
    [InlineData("yesterday stdout F hello")]
    public void RejectsWhatIsNotARecord(string record) =>
        Assert.False(LogReader.TryParse(record, out _, out _, out _, out _));

    // ---- Read --------------------------------------------------------------------------------------------------

    private string WriteLog(params string[] lines)
    {
        string path = dir.Combine("container.log");
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));
        return path;
    }

    [Fact]
    public void ReadJoinsPartialRecordsWithTheirFullRecord()
    {
        string path = WriteLog(
            "2026-11-28T06:00:01.000000001Z stdout F first",
            "2026-11-28T06:00:02Z stdout P hel",
            "2026-11-28T06:00:03Z stdout P lo ",
            "2026-11-28T06:00:04Z stdout F world",
            "2026-11-28T06:00:05Z stdout F ");

        var records = LogReader.Read(path, false, () => false, CancellationToken.None).ToList();
        Assert.Equal(["first", "hello world", ""], records.Select(r => r.Line));
        Assert.All(records, r => Assert.Equal("stdout", r.Stream));
        Assert.Equal(Utc(6, 0, 1), records[0].Time);
        Assert.Equal(Utc(6, 0, 4), records[1].Time);
        Assert.Equal("hello world", records[1].ToString());
    }

    [Fact]
    public void ReadKeepsPartialsOfStdoutAndStderrApart()
    {
        string path = WriteLog(
            "2026-11-28T06:00:01Z stdout P out-",
            "2026-11-28T06:00:02Z stderr P err-",
            "2026-11-28T06:00:03Z stdout P a-",
            "2026-11-28T06:00:04Z stderr F b",
            "2026-11-28T06:00:05Z stdout F c",
            "2026-11-28T06:00:06Z stderr F alone");

        var records = LogReader.Read(path, false, () => false, CancellationToken.None).ToList();
        Assert.Equal(
            [("stderr", "err-b"), ("stdout", "out-a-c"), ("stderr", "alone")],
            records.Select(r => (r.Stream, r.Line)));
    }

    [Fact]
    public void ReadSkipsLinesThatAreNotRecords()
    {
        string path = WriteLog("2026-11-28T06:00:01Z stdout F one", "not a record", "", "2026-11-28T06:00:02Z stdout F two");
        Assert.Equal(["one", "two"], LogReader.Read(path, false, () => false, CancellationToken.None).Select(r => r.Line));
    }

    [Fact]
    public void ReadOfAMissingFileIsEmpty()
    {
        Assert.Empty(LogReader.Read(dir.Combine("nothing.log"), false, () => true, CancellationToken.None));
        // Following a log that never appears ends when the container is not running.
        Assert.Empty(LogReader.Read(dir.Combine("nothing.log"), true, () => false, CancellationToken.None));
    }

    // ---- follow -----------------------------------------------------------------------------------------------

    private static string Record(int i, string stream = "stdout", char tag = 'F', string? text = null) =>
        $"{Utc(6, 0, 0).AddMilliseconds(i):yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'} {stream} {tag} {text ?? "line " + i}\n";

    /// <summary>Runs Read(follow) on a worker while <paramref name="write"/> appends to the log; bounded by a timeout.</summary>
    private List<ContainerLogRecord> Follow(Action<FileStream> write, bool createFirst = true)
    {
        string path = dir.Combine("follow.log");
        if (createFirst) File.WriteAllText(path, "");
        var running = new ManualResetEventSlim(true);
        int runningChecks = 0;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reader = Task.Run(() => LogReader.Read(path, true, () =>
        {
            Interlocked.Increment(ref runningChecks);
            return running.IsSet;
        }, cancel.Token).ToList());
        var writer = Task.Run(() =>
        {
            using var log = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            write(log);
            running.Reset(); // the container stopped
        });
        Assert.True(Task.WaitAll([reader, writer], TimeSpan.FromSeconds(10)), "follow did not end after the container stopped");
        Assert.False(cancel.IsCancellationRequested, "follow only ended by cancellation");
        Assert.True(runningChecks > 0);
        return reader.Result;
    }

    private static void Append(FileStream log, string text)
    {
        log.Write(Encoding.UTF8.GetBytes(text));
        log.Flush();
    }

    [Fact]
    public void FollowReadsLinesAsTheyAreWrittenAndEndsWhenTheContainerStops()
    {
        var watch = Stopwatch.StartNew();
        var records = Follow(log =>
        {
            for (int i = 0; i < 20; i++)
            {
                Append(log, Record(i));
                if (i % 5 == 0) Thread.Sleep(20);
            }
        });
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "line " + i), records.Select(r => r.Line));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void FollowWaitsForTheLogToAppear()
    {
        var records = Follow(log =>
        {
            Append(log, Record(1));
            Thread.Sleep(30);
            Append(log, Record(2));
        }, createFirst: false);
        Assert.Equal(["line 1", "line 2"], records.Select(r => r.Line));
    }

    [Fact]
    public void FollowJoinsInterleavedPartialsWrittenOverTime()
    {
        var records = Follow(log =>
        {
            Append(log, Record(1, "stdout", 'P', "Enter "));
            Thread.Sleep(30);
            Append(log, Record(2, "stderr", 'P', "warn"));
            Thread.Sleep(30);
            Append(log, Record(3, "stdout", 'F', "name:"));
            Append(log, Record(4, "stderr", 'F', "ing"));
        });
        Assert.Equal([("stdout", "Enter name:"), ("stderr", "warning")], records.Select(r => (r.Stream, r.Line)));
    }

    [Fact]
    public void FollowReadsWhatWasWrittenJustBeforeTheContainerStopped()
    {
        // The last lines land after the reader saw the end of the file but before it asks whether the container runs.
        var records = Follow(log =>
        {
            Append(log, Record(1));
            Thread.Sleep(50);
            Append(log, Record(2));
            Append(log, Record(3));
        });
        Assert.Equal(["line 1", "line 2", "line 3"], records.Select(r => r.Line));
    }

    [Fact]
    public void FollowNeverReturnsHalfARecord()
    {
        // A record the reader meets half-written (a writev of a 16 KiB record spans pages, and the file's size grows
        // page by page) must come out whole, and must not damage the record after it.
        string longText = new('x', 6000);
        var records = Follow(log =>
        {
            Append(log, Record(1));
            string torn = Record(2, text: "hello " + longText);
            Append(log, torn[..(torn.Length / 2)]);
            Thread.Sleep(150);
            Append(log, torn[(torn.Length / 2)..]);
            Append(log, Record(3));
        });
        string whole = "hello " + longText;
        Assert.Equal(3, records.Count);
        Assert.Equal("line 1", records[0].Line);
        Assert.True(records[1].Line == whole, $"the torn record came out as {records[1].Line.Length} characters instead of {whole.Length}");
        Assert.Equal("line 3", records[2].Line);
    }

    [Fact]
    public void FollowStopsOnCancellation()
    {
        string path = dir.Combine("endless.log");
        File.WriteAllText(path, Record(1));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        var records = LogReader.Read(path, true, () => true, cancel.Token).ToList();
        Assert.Equal(["line 1"], records.Select(r => r.Line));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }
}
