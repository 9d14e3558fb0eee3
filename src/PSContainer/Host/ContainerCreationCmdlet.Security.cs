using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Containers;

namespace PSContainer.Host;

// -SecurityOption: docker's --security-opt spellings, checked by the engine when the container is created.
public abstract partial class ContainerCreationCmdlet
{
    /// <summary>
    /// seccomp=unconfined, seccomp=PATH (a profile JSON, read now), no-new-privileges[=true|false], label=disable,
    /// apparmor=unconfined|PROFILE (docker run --security-opt).
    /// </summary>
    [Parameter(ParameterSetName = RunSet)]
    [Alias("SecurityOpt")]
    public string[]? SecurityOption { get; set; }

    private ContainerOptions WithSecurity(ContainerOptions options)
    {
        options.SecurityOptions = (SecurityOption ?? []).Select(ResolveSeccompPath).ToList();
        return options;
    }

    /// <summary>A relative profile path is relative to PowerShell's current location, as for -Volume.</summary>
    private string ResolveSeccompPath(string option)
    {
        int sep = option.IndexOfAny(['=', ':']);
        if (sep < 0 || option[..sep] != "seccomp") return option;
        string value = option[(sep + 1)..];
        if (value.Length == 0 || value is "unconfined" or "default" or "builtin" || value.StartsWith('/')) return option;
        try
        {
            string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(value, out var provider, out _);
            if (provider.Name != "FileSystem")
                throw new EngineException("InvalidSecurityOption", ErrorKind.InvalidArgument, option,
                    $"'{value}' in -SecurityOption '{option}' is not a file system path: the current location is {SessionState.Path.CurrentLocation}; give an absolute path.");
            return "seccomp=" + path;
        }
        catch (Exception e) when (e is RuntimeException or NotSupportedException or ArgumentException)
        {
            throw new EngineException("InvalidSecurityOption", ErrorKind.InvalidArgument, option, $"'{value}' in -SecurityOption '{option}' is not a path here: {e.Message}");
        }
    }
}
