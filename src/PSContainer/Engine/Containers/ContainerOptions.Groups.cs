namespace PSContainer.Engine.Containers;

public sealed partial class ContainerOptions
{
    /// <summary>
    /// More supplementary groups (docker run --group-add): names resolved in the container's /etc/group at start,
    /// or numeric ids, which need no entry. Added to the groups /etc/group gives the user, for exec -User too.
    /// </summary>
    public List<string> GroupAdd { get; set; } = new();

    /// <summary>What a group can be before the container's /etc/group is read: one name or id, nothing that would
    /// change how /etc/group is parsed (':', ',', white space, NUL).</summary>
    public static void ValidateGroupAdd(IEnumerable<string> groups)
    {
        foreach (string g in groups)
        {
            if (g.Length == 0 || g.Any(c => c is ':' or ',' or '\0' || char.IsWhiteSpace(c)))
                throw new EngineException("InvalidGroup", ErrorKind.InvalidArgument, g,
                    $"'{g.Replace("\0", "\\0")}' is not a group: give a group name of the container's /etc/group or a numeric group id.");
            if (g.All(char.IsAsciiDigit) && (!uint.TryParse(g, out uint id) || id > int.MaxValue))
                throw new EngineException("InvalidGroup", ErrorKind.InvalidArgument, g, $"Group id {g} is out of range (0 to {int.MaxValue}).");
        }
    }
}
