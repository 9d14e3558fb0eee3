using System.Globalization;

namespace PSContainer.Engine.Containers;

/// <summary>The container log's rotation (docker run --log-opt max-size=…,max-file=…).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>max-size and max-file as the user gave them; the defaults below apply to what is missing.</summary>
    public Dictionary<string, string> LogOptions { get; set; } = new();

    /// <summary>
    /// Without -LogOption a chatty container cannot fill the disk: kubelet's defaults (10 MiB a file, 5 files). Docker's
    /// json-file driver has no cap unless configured daemon-wide; there is no daemon here to configure.
    /// </summary>
    public const long DefaultLogMaxSize = 10L * 1024 * 1024;
    public const int DefaultLogMaxFiles = 5;

    /// <summary>The effective rotation: (bytes a file may reach, files kept including the current one).</summary>
    public (long MaxSize, int MaxFiles) LogRotation()
    {
        long size = DefaultLogMaxSize;
        int files = DefaultLogMaxFiles;
        foreach (var (key, value) in LogOptions)
        {
            switch (key)
            {
                case "max-size":
                    if (value == "-1") size = 0;   // docker: -1 is unlimited
                    else if (!ByteSize.TryParse(value, false, out size, out string? error) || size <= 0)
                        throw new EngineException("InvalidLogOption", ErrorKind.InvalidArgument, $"{key}={value}", $"-LogOption max-size={value}: {error ?? "must be more than 0"} (for example 10m or 10MB; -1 for no limit).");
                    break;
                case "max-file":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out files) || files is < 1 or > 1000)
                        throw new EngineException("InvalidLogOption", ErrorKind.InvalidArgument, $"{key}={value}", $"-LogOption max-file={value} must be a number of files from 1 to 1000.");
                    break;
                default:
                    throw new EngineException("InvalidLogOption", ErrorKind.InvalidArgument, key, $"Unknown log option '{key}': use max-size and max-file.");
            }
        }
        return (size, files);
    }

    /// <summary>key=value[,key=value] items (docker's --log-opt, one or several per item) as a dictionary.</summary>
    public static Dictionary<string, string> ParseLogOptions(IEnumerable<string> items)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0)
                throw new EngineException("InvalidLogOption", ErrorKind.InvalidArgument, part, $"'{part}' is not a log option: use key=value, for example max-size=10m.");
            result[part[..eq]] = part[(eq + 1)..];
        }
        return result;
    }
}
