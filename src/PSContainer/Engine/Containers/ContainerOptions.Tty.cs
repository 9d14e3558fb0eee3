namespace PSContainer.Engine.Containers;

/// <summary>docker run -i / -t: the container's process gets a terminal held by its monitor, which clients attach to;
/// or, -i without -t, a stdin pipe its monitor holds open for attached clients (monitor/stdin.c).</summary>
public sealed partial class ContainerOptions
{
    /// <summary>The container's process has a pseudo-terminal (docker run -t).</summary>
    public bool Tty { get; set; }

    /// <summary>Its input is kept open for attached clients (docker run -i): through its terminal with <see cref="Tty"/>,
    /// else as a pipe its monitor holds.</summary>
    public bool Interactive { get; set; }

    /// <summary>Without a terminal: the end of the first attached client's input closes the container's stdin, so it
    /// reads EOF (docker's StdinOnce; docker run -i sets it). Otherwise the pipe stays open for the next attach.</summary>
    public bool StdinOnce { get; set; }

    /// <summary>Checks -Interactive/-Tty/StdinOnce at creation.</summary>
    public static void ValidateTerminal(ContainerOptions o)
    {
        if (o.StdinOnce && !o.Interactive)
            throw new EngineException("StdinOnceNeedsInteractive", ErrorKind.InvalidArgument, "StdinOnce",
                "StdinOnce closes a stdin that only -Interactive keeps open: use it with -Interactive.");
    }

    /// <summary>With a terminal, TERM=xterm unless the image or -Environment sets one (docker run -t does the same).</summary>
    public static string[] WithTerminalType(string[] env) =>
        env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)) ? env : [.. env, "TERM=xterm"];
}
