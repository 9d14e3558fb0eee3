namespace PSContainer.Native;

/// <summary>Kernel parameters under /proc/sys, named by their path below it (net/ipv4/ip_forward) because an
/// interface name in a key may itself hold dots.</summary>
public static class Sysctl
{
    public static string PathOf(string key) => "/proc/sys/" + key;

    /// <summary>The value without its trailing newline, or null when the key does not exist here or cannot be read.</summary>
    public static string? Read(string key)
    {
        try
        {
            return File.ReadAllText(PathOf(key)).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Sets <paramref name="key"/> unless it already holds <paramref name="value"/> (a write of the same
    /// value still needs the right to write, which a namespaced /proc/sys may refuse). Throws IOException or
    /// UnauthorizedAccessException when the kernel refuses.</summary>
    public static void Write(string key, string value)
    {
        string path = PathOf(key);
        if (File.ReadAllText(path).Trim() != value) File.WriteAllText(path, value);
    }
}
