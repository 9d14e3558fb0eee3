namespace PSContainer.Engine.Storage;

/// <summary>
/// Where the engine keeps things. One persistent root (images, layers, metadata) and one runtime root (things that
/// must not survive a reboot). Both come from the environment so a test run can use a private pair that never
/// meets a user's containers.
/// </summary>
public sealed class StatePaths
{
    public const string RootVariable = "PSCONTAINER_ROOT";
    public const string RunRootVariable = "PSCONTAINER_RUNROOT";
    public const string DefaultRoot = "/var/lib/pscontainer";
    public const string DefaultRunRoot = "/run/pscontainer";

    public StatePaths(string root, string runRoot)
    {
        Root = Path.GetFullPath(root);
        RunRoot = Path.GetFullPath(runRoot);
    }

    public static StatePaths FromEnvironment() => new(
        Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } r ? r : DefaultRoot,
        Environment.GetEnvironmentVariable(RunRootVariable) is { Length: > 0 } rr ? rr : DefaultRunRoot);

    public string Root { get; }
    public string RunRoot { get; }
    public string Database => Path.Combine(Root, "state.db");
    public string StoreLock => Path.Combine(Root, "store.lock");
    /// <summary>An OCI image layout (oci-layout, index.json, blobs/sha256/...) that other tools can read.</summary>
    public string ImageLayout => Path.Combine(Root, "image");
    public string Blobs => Path.Combine(ImageLayout, "blobs", "sha256");
    public string Layers => Path.Combine(Root, "layers");
    public string Temp => Path.Combine(Root, "tmp");

    public void EnsureCreated()
    {
        foreach (string dir in new[] { Root, ImageLayout, Blobs, Layers, Temp })
        {
            if (!Directory.Exists(dir))
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                               UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        string layoutFile = Path.Combine(ImageLayout, "oci-layout");
        if (!File.Exists(layoutFile)) AtomicFile.Write(layoutFile, "{\"imageLayoutVersion\":\"1.0.0\"}"u8, Temp);
    }
}

public static class AtomicFile
{
    /// <summary>Writes a file by rename, so a reader never sees a half-written one and a crash leaves the old one.
    /// Not <paramref name="durable"/>: the content is not flushed to disk first, for a file that is written again
    /// before anything reads it after a reboot (a container's config.json, made at every start); the rename still
    /// keeps a killed writer from leaving half a file.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, string tempDirectory, bool durable = true)
    {
        string temp = Path.Combine(tempDirectory, TempOwner.NewName("write"));
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(content);
                f.Flush(flushToDisk: durable);
            }
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
