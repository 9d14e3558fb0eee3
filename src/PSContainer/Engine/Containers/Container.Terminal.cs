namespace PSContainer.Engine.Containers;

public sealed partial class Container
{
    /// <summary>Its process has a terminal held by its monitor (docker's Config.Tty).</summary>
    public bool Tty { get; init; }

    /// <summary>Its input is kept open for attached clients (docker's Config.OpenStdin).</summary>
    public bool Interactive { get; init; }

    /// <summary>The first attached client's end of input closes its stdin (docker's Config.StdinOnce).</summary>
    public bool StdinOnce { get; init; }
}
