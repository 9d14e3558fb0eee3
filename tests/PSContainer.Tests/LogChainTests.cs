using System.Globalization;
using System.Text;
using PSContainer.Engine.Containers;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>
/// Reading a log while psc-monitor's logwriter rotates it (FILE.i renamed to FILE.(i+1) from the oldest down, FILE
/// to FILE.1, a new FILE), and the hold that keeps an auto-removal from deleting files a follower has not opened.
/// </summary>
public sealed class LogChainTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string Record(int i) =>
        string.Create(CultureInfo.InvariantCulture, $"2026-12-02T06:00:00.{i % 1000:000}000000Z stdout F line {i}\n");

    /// <summary>Writes records as the monitor does, rotating after every <c>perFile</c> records and keeping up to
    /// <c>maxFiles</c> files (the rotate of logwriter.c, step for step: rename(2), one file at a time, oldest first).</summary>
    private sealed class RotatingWriter(string path, int perFile, int maxFiles) : IDisposable
    {
        private FileStream file = Append(path);
        private int inFile, rotated;

        private static FileStream Append(string p) => new(p, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);

        /// <summary>The next rotation fails as the monitor's does when it cannot make the new FILE: FILE.1 is renamed
        /// back to FILE, leaving FILE.1 empty (a gap later rotations carry up).</summary>
        public bool FailNextRotation { get; set; }

        public void Write(int i)
        {
            file.Write(Encoding.UTF8.GetBytes(Record(i)));
            file.Flush();
            if (++inFile < perFile) return;
            File.Delete($"{path}.{maxFiles - 1}");
            for (int k = Math.Min(rotated, maxFiles - 2); k >= 1; k--)
                if (File.Exists($"{path}.{k}")) File.Move($"{path}.{k}", $"{path}.{k + 1}", overwrite: true); // ENOENT passed over, as rename() there
            File.Move(path, path + ".1", overwrite: true);
            rotated = Math.Min(rotated + 1, maxFiles - 1);
            if (FailNextRotation)
            {
                FailNextRotation = false;
                File.Move(path + ".1", path, overwrite: true);
                inFile = 0;
                return;
            }
            var next = Append(path);
            file.Dispose();
            file = next;
            inFile = 0;
        }

        public void Dispose() => file.Dispose();
    }

    private static async Task<bool> Finished(Task task, TimeSpan within) => await Task.WhenAny(task, Task.Delay(within)) == task;

    private static int Number(ContainerLogRecord r) => int.Parse(r.Line.AsSpan(5), CultureInfo.InvariantCulture);

    [Fact]
    public async Task FollowLosesNothingWhileTheLogRotatesFasterThanItIsRead()
    {
        string path = dir.Combine("container.log");
        File.WriteAllText(path, "");
        const int count = 1500;
        var running = new ManualResetEventSlim(true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = Task.Run(() =>
        {
            var got = new List<int>();
            foreach (var r in LogReader.Read(path, () => new LogFollowRun(() => running.IsSet), cancel.Token))
            {
                got.Add(Number(r));
                // A reader slower than the writer: it is many rotations behind whenever it looks for the next file.
                if (got.Count % 40 == 0) Thread.Sleep(1);
            }
            return got;
        });
        using (var writer = new RotatingWriter(path, perFile: 3, maxFiles: 100_000))
        {
            for (int i = 1; i <= count; i++) writer.Write(i);
        }
        running.Reset();
        Assert.True(await Finished(reader, TimeSpan.FromSeconds(60)), "follow did not end");
        Assert.False(cancel.IsCancellationRequested, "follow only ended by cancellation");
        Assert.Equal(Enumerable.Range(1, count), await reader);
    }

    [Fact]
    public async Task AReadWhileTheLogRotatesGetsAnUnbrokenRunOfRecords()
    {
        string path = dir.Combine("container.log");
        using var writer = new RotatingWriter(path, perFile: 2, maxFiles: 100_000);
        int written = 0;
        for (; written < 400; ) writer.Write(++written);
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested && written < 200_000) writer.Write(++written);
        });
        try
        {
            for (int round = 0; round < 20; round++)
            {
                var got = LogReader.Read(path, null, CancellationToken.None).Select(Number).ToList();
                // Oldest file first, no file missed or out of order: 1, 2, 3, … up to where the read ended.
                Assert.True(got.Count >= 400, $"round {round}: only {got.Count} records");
                Assert.Equal(Enumerable.Range(1, got.Count), got);
            }
        }
        finally
        {
            stop.Cancel();
            await writing;
        }
    }

    [Fact]
    public async Task AnAutoRemovalWaitsOnlyUntilTheFollowerHasEveryFileOpen()
    {
        // The container's files as the engine keeps them: the log, the monitor's exit record, the followers' lock.
        string path = dir.Combine("container.log"), exitFile = dir.Combine("exit.json"), followers = dir.Combine("log-followers");
        File.WriteAllText(exitFile, "{}"); // an earlier run's: not the end of this one
        File.WriteAllText(path, "");
        const int count = 300;
        using var run = new LogFollowRun(exitFile, FileLock.Acquire(followers, exclusive: false), beforeStart: true, () => true);
        using var firstSeen = new ManualResetEventSlim();
        using var goOn = new ManualResetEventSlim();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = Task.Run(() =>
        {
            var got = new List<int>();
            foreach (var r in LogReader.Read(path, () => run, cancel.Token))
            {
                got.Add(Number(r));
                if (got.Count != 1) continue;
                // A client that does not take what it is sent: the reader is stuck handing out the first record.
                firstSeen.Set();
                goOn.Wait(cancel.Token);
            }
            return got;
        });
        using (var writer = new RotatingWriter(path, perFile: 10, maxFiles: 1000))
        {
            writer.Write(1);
            Assert.True(firstSeen.Wait(TimeSpan.FromSeconds(10)));
            for (int i = 2; i <= count; i++) writer.Write(i);
        }
        // The monitor's exit record: written after the log is closed, by a rename.
        File.WriteAllText(exitFile + ".tmp", "{\"exitCode\":0}");
        File.Move(exitFile + ".tmp", exitFile, overwrite: true);

        // The removal (ContainerManager.WaitForLogFollowers, then the files deleted) is not kept waiting by the stuck
        // reader: the chain's timer opens what is left and lets the hold go.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        FileLock? alone = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(10) && (alone = FileLock.TryAcquire(followers, exclusive: true)) is null) Thread.Sleep(2);
        Assert.NotNull(alone);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the removal waited {watch.Elapsed.TotalMilliseconds:F0} ms for a stuck reader");
        Assert.False(run.Holds);
        foreach (string f in Directory.EnumerateFiles(dir.Path, "container.log*")) File.Delete(f);
        alone!.Dispose();

        goOn.Set();
        Assert.True(await Finished(reader, TimeSpan.FromSeconds(20)), "the follower did not end after the exit record");
        Assert.Equal(Enumerable.Range(1, count), await reader);
    }

    [Fact]
    public async Task AFollowerHoldsTheLogUntilTheRunEnds()
    {
        string path = dir.Combine("container.log"), exitFile = dir.Combine("exit.json"), followers = dir.Combine("log-followers");
        File.WriteAllText(path, Record(1));
        using var run = new LogFollowRun(exitFile, FileLock.Acquire(followers, exclusive: false), beforeStart: true, () => true);
        using var cancel = new CancellationTokenSource();
        var reader = Task.Run(() => LogReader.Read(path, () => run, cancel.Token).Select(Number).ToList());
        await Task.Delay(200);
        // Still running: a removal would have to wait.
        Assert.Null(FileLock.TryAcquire(followers, exclusive: true));
        Assert.True(run.Holds);
        File.WriteAllText(exitFile, "{}");
        Assert.True(await Finished(reader, TimeSpan.FromSeconds(10)), "the follower did not end at the exit record");
        Assert.Equal([1], await reader);
        using var alone = FileLock.TryAcquire(followers, exclusive: true);
        Assert.NotNull(alone);
    }

    [Fact]
    public async Task AGapLeftByAFailedRotationLosesNothing()
    {
        string path = dir.Combine("container.log");
        File.WriteAllText(path, "");
        var running = new ManualResetEventSlim(true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var firstSeen = new ManualResetEventSlim();
        var goOn = new ManualResetEventSlim();
        var reader = Task.Run(() =>
        {
            var got = new List<int>();
            foreach (var r in LogReader.Read(path, () => new LogFollowRun(() => running.IsSet), cancel.Token))
            {
                got.Add(Number(r));
                if (got.Count != 1) continue;
                // Behind the writer while the failed rotation leaves its gap, which later rotations carry up.
                firstSeen.Set();
                goOn.Wait(cancel.Token);
            }
            return got;
        });
        const int count = 200;
        using (var writer = new RotatingWriter(path, perFile: 5, maxFiles: 1000))
        {
            writer.Write(1);
            Assert.True(firstSeen.Wait(TimeSpan.FromSeconds(10)));
            for (int i = 2; i <= count; i++)
            {
                if (i == 40 || i == 120) writer.FailNextRotation = true;
                writer.Write(i);
            }
        }
        // A read from the start passes over the gaps too.
        Assert.Equal(Enumerable.Range(1, count), LogReader.Read(path, null, CancellationToken.None).Select(Number));
        goOn.Set();
        running.Reset();
        Assert.True(await Finished(reader, TimeSpan.FromSeconds(30)), "follow did not end");
        Assert.Equal(Enumerable.Range(1, count), await reader);
    }

    [Fact]
    public async Task AFollowerOfARunThatEndedAlreadyLetsGoAtOnce()
    {
        // docker logs -f of a --rm container that exited a moment ago and is not reconciled yet: its exit record is
        // the end, and the follower must not hold the removal that comes next (nor wait for itself).
        string path = dir.Combine("container.log"), exitFile = dir.Combine("exit.json"), followers = dir.Combine("log-followers");
        File.WriteAllText(path, Record(1) + Record(2));
        File.WriteAllText(exitFile, "{}");
        using var run = new LogFollowRun(exitFile, FileLock.Acquire(followers, exclusive: false), beforeStart: false, () => true);
        var reader = Task.Run(() => LogReader.Read(path, () => run, CancellationToken.None).Select(Number).ToList());
        Assert.True(await Finished(reader, TimeSpan.FromSeconds(5)), "the follower did not end at the exit record");
        Assert.Equal([1, 2], await reader);
        Assert.False(run.Holds);
    }
}
