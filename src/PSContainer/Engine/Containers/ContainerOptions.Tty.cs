namespace PSContainer.Engine.Containers;

/// <summary>docker run -i / -t: the container's process gets a terminal held by its monitor, which clients attach to.</summary>
public sealed partial class ContainerOptions
{
    /// <summary>The container's process has a pseudo-terminal (docker run -t).</summary>
    public bool Tty { get; set; }

    /// <summary>Its input is kept open for attached clients (docker run -i); only with <see cref="Tty"/> for now.</summary>
    public bool Interactive { get; set; }

    /// <summary>Checks -Interactive/-Tty at creation.</summary>
    public static void ValidateTerminal(ContainerOptions o)
    {
        if (o.Interactive && !o.Tty)
            throw new EngineException("InteractiveNeedsTty", ErrorKind.InvalidArgument, "Interactive",
                "-Interactive without -Tty (stdin kept open as a pipe) is not supported; use -Interactive -Tty, or pipe input to Invoke-ContainerCommand.");
    }

    /// <summary>With a terminal, TERM=xterm unless the image or -Environment sets one (docker run -t does the same).</summary>
    public static string[] WithTerminalType(string[] env) =>
        env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)) ? env : [.. env, "TERM=xterm"];
}
