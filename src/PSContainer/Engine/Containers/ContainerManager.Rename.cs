namespace PSContainer.Engine.Containers;

/// <summary>docker rename.</summary>
public sealed partial class ContainerManager
{
    /// <summary>
    /// Renames a container under its lock; the store's unique name decides a race with another session. The name
    /// servers of the networks it runs on answer to the new name (and no longer to the old) from then on.
    /// </summary>
    public Container Rename(string idOrName, string newName)
    {
        if (!ValidName().IsMatch(newName))
            throw new EngineException("InvalidContainerName", ErrorKind.InvalidArgument, newName,
                $"Invalid container name \"{newName}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.");
        var record = Resolve(idOrName);
        using (LockContainer(record.Id))
        {
            record = Current(record.Id, idOrName);
            if (record.Name == newName)
                throw new EngineException("ContainerNameUnchanged", ErrorKind.InvalidArgument, newName,
                    $"Container {record.Name} already has the name \"{newName}\".");
            store.Rename(record.Id, newName);
            Networks.RefreshNames(record.Id);
            RecordEvent(new ContainerRecord { Id = record.Id, Name = newName, Image = record.Image }, "rename", null, ("oldName", record.Name));
            return ToContainer(Current(record.Id, newName));
        }
    }
}
