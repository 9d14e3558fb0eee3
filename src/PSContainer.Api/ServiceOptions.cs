using System.Globalization;

namespace PSContainer.Api;

/// <summary>psc-api's command line: --socket, --group, --root, --runroot, --log, --pid-file.</summary>
public sealed class ServiceOptions
{
    public const string DefaultSocket = "/run/pscontainer/docker.sock";

    public string Socket { get; private set; } = DefaultSocket;
    public string? Group { get; private set; }
    public string? Root { get; private set; }
    public string? RunRoot { get; private set; }
    public string? LogPath { get; private set; }
    public string? PidFile { get; private set; }

    public static ServiceOptions Parse(string[] args)
    {
        var o = new ServiceOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--socket" or "-H": o.Socket = Value(); break;
                case "--group" or "-G": o.Group = Value(); break;
                case "--root": o.Root = Value(); break;
                case "--runroot": o.RunRoot = Value(); break;
                case "--log": o.LogPath = Value(); break;
                case "--pid-file": o.PidFile = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'. Usage: psc-api [--socket PATH] [--group NAME] [--root DIR] [--runroot DIR] [--log FILE] [--pid-file FILE]");
            }
        }
        if (o.Socket.StartsWith("unix://", StringComparison.Ordinal)) o.Socket = o.Socket["unix://".Length..];
        o.Socket = Path.GetFullPath(o.Socket);
        return o;
    }

    /// <summary>The gid of a group in /etc/group, by name or number.</summary>
    public static uint GroupId(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid)) return gid;
        foreach (string line in File.ReadLines("/etc/group"))
        {
            string[] f = line.Split(':');
            if (f.Length >= 3 && f[0] == group && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid)) return gid;
        }
        throw new ArgumentException($"no group '{group}' in /etc/group");
    }
}
