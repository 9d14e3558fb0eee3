using System.Management.Automation;
using PSContainer.Engine;
using PSContainer.Engine.Volumes;
using PSContainer.Host;

namespace PSContainer.Commands;

/// <summary>
/// <para type="synopsis">Removes volumes and their data (docker volume rm); a volume any container uses is refused.</para>
/// <para type="description">-Unused removes every volume no container uses, running or stopped (docker volume prune).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = "ByName")]
[OutputType(typeof(VolumePruneResult))]
public sealed class RemoveContainerVolumeCommand : PSContainerCmdlet
{
    private const string UnusedSet = "Unused";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "ByName", ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "ByObject")]
    public ContainerVolume[] Volume { get; set; } = [];

    /// <summary>As docker volume rm -f: a volume that does not exist is no error. A volume in use is still refused.</summary>
    [Parameter(ParameterSetName = "ByName")]
    [Parameter(ParameterSetName = "ByObject")]
    public SwitchParameter Force { get; set; }

    /// <summary>Remove every volume no container uses, existing or stopped, named or anonymous (docker volume prune).</summary>
    [Parameter(Mandatory = true, ParameterSetName = UnusedSet)]
    public SwitchParameter Unused { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == UnusedSet)
        {
            Prune();
            return;
        }
        var targets = new List<string>();
        if (ParameterSetName == "ByObject") targets.AddRange(Volume.Select(v => v.Name));
        else
        {
            foreach (string name in Name)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name)) { targets.Add(name); continue; }
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                try
                {
                    targets.AddRange(Engine.Service.Volumes.Names().Where(pattern.IsMatch));
                }
                catch (EngineException e)
                {
                    WriteEngineError(e);
                }
            }
        }
        foreach (string name in targets)
        {
            if (!ShouldProcess(name, "Remove container volume and its data")) continue;
            try
            {
                Engine.Service.Volumes.Remove(name, Force);
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
    }

    /// <summary>
    /// Each candidate is confirmed (-WhatIf lists them) and then removed only if it is still unused when claimed; one
    /// VolumePruneResult tells what went and the bytes freed (docker's "Total reclaimed space").
    /// </summary>
    private void Prune()
    {
        var volumes = Engine.Service.Volumes;
        var deleted = new List<string>();
        long freed = 0;
        IReadOnlyList<ContainerVolume> candidates;
        try
        {
            candidates = volumes.Unused();
        }
        catch (EngineException e)
        {
            ThrowEngineError(e);
            return;
        }
        foreach (var v in candidates)
        {
            if (!ShouldProcess(v.Name, "Remove unused container volume and its data")) continue;
            try
            {
                if (volumes.RemoveIfUnused(v) is not long size)
                {
                    WriteVerbose($"Kept {v.Name}: a container uses it now, or another session is removing it.");
                    continue;
                }
                deleted.Add(v.Name);
                freed += size;
                WriteVerbose($"Deleted: {v.Name}");
            }
            catch (EngineException e)
            {
                WriteEngineError(e);
            }
        }
        if (deleted.Count > 0) WriteObject(new VolumePruneResult(deleted.ToArray(), freed));
    }
}
