using System.Diagnostics;
using PSContainer.Native;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The session's sealed copy of psc-runtime (SealedExecutable): a path a child executes, sealed against any
/// change, made once per binary and again when the file changes.</summary>
public sealed class SealedExecutableTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("psc-sealed-test-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Script(string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void CopiesTheFileAndSealsIt()
    {
        string source = Script("a", "#!/bin/sh\necho one\n");
        string? sealedPath = SealedExecutable.PathOf(source);
        Assert.NotNull(sealedPath);
        Assert.StartsWith("/proc/self/fd/", sealedPath);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(sealedPath));
        // F_SEAL_WRITE: no one, this process included, can change what children execute
        var refused = Record.Exception(() => File.WriteAllText(sealedPath, "changed"));
        Assert.True(refused is IOException or UnauthorizedAccessException, refused?.ToString() ?? "the write was allowed");
        Assert.Equal(sealedPath, SealedExecutable.PathOf(source));
    }

    [Fact]
    public void MakesANewCopyWhenTheFileChanges()
    {
        string source = Script("b", "first version\n");
        string first = SealedExecutable.PathOf(source)!;
        File.WriteAllText(source, "second, longer version\n");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddSeconds(5));
        string second = SealedExecutable.PathOf(source)!;
        Assert.Equal("second, longer version\n", File.ReadAllText(second));
    }

    [Fact]
    public void GivesNullForAMissingFile() => Assert.Null(SealedExecutable.PathOf(Path.Combine(dir, "missing")));

    [Fact]
    public void AChildProcessExecutesTheCopy()
    {
        // /bin/true copied: an ELF binary executes from a close-on-exec memfd path (a script would not: its interpreter
        // opens the path after the descriptor is closed)
        string copy = Path.Combine(dir, "true");
        File.Copy("/bin/true", copy);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        string sealedPath = SealedExecutable.PathOf(copy)!;
        var (code, _, stderr) = ProcessSpawner.Run(sealedPath, ["true"], new Dictionary<string, string>(), TimeSpan.FromSeconds(10));
        Assert.True(code == 0, stderr);
    }
}
