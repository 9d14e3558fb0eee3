namespace PSContainer.Native;

/// <summary>Who this process is acting as (the effective ids, which decide file access and ownership).</summary>
public static class ProcessIdentity
{
    public static uint EffectiveUserId => Tmds.Linux.LibC.geteuid();

    public static uint EffectiveGroupId => Tmds.Linux.LibC.getegid();

    public static bool IsRoot => EffectiveUserId == 0;
}
