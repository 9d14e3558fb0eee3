using System.Management.Automation;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

/// <summary>docker run -i -t: a terminal for the container's process, held by its monitor.</summary>
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>Keep the container's input open for attached sessions (docker run -i); needs -Tty.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter Interactive { get; set; }

    /// <summary>Give the container's process a pseudo-terminal (docker run -t); its output is logged as stdout.</summary>
    [Parameter(ParameterSetName = RunSet)]
    public SwitchParameter Tty { get; set; }

    private void AddTerminalOptions(ContainerOptions o)
    {
        o.Tty = Tty;
        o.Interactive = Interactive;
    }
}
