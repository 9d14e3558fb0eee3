using PSContainer.Engine.Containers;
using PSContainer.Engine.Images;
using PSContainer.Engine.Networks;

namespace PSContainer.Engine.Services;

/// <summary>
/// The events of images, networks and volumes (docker events' image, network and volume types), recorded by the
/// services that make those changes into the state root's one events log, beside the containers' own. What the
/// actor's id and attributes hold for each action is dockerd's, so a client filtering on them finds the same:
/// pull and push name the reference, tag the image id with the new name, untag/delete/load/save/import the image id;
/// a network its id with name and type (and the container for connect/disconnect); a volume its name with the driver.
/// </summary>
public sealed class ObjectEvents(ContainerEngine engine)
{
    private ContainerManager Log => engine.Containers;

    /// <summary>pull or push: the actor is the reference (busybox:latest), its name the repository (busybox).</summary>
    public void ImageReferenced(string action, ImageReference reference, ContainerImage? image) =>
        Image(action, reference.FamiliarString, reference.FamiliarRepository, image);

    /// <summary>tag (name: the new tag), untag, delete, load, save, import (name: the image id, as dockerd).</summary>
    public void Image(string action, string id, string name, ContainerImage? image)
    {
        // The image's labels too, as dockerd records them: docker events --filter label=… matches on them.
        var attributes = new Dictionary<string, string>(image?.Config.Labels ?? new Dictionary<string, string>()) { ["name"] = name };
        Record("image", action, id, name, attributes);
    }

    /// <summary>create, destroy, and with the container's id connect and disconnect.</summary>
    public void Network(string action, ContainerNetwork network, string? containerId = null) =>
        Log.RecordObjectEvent(ContainerManager.NetworkEvent(action, network, containerId));

    /// <summary>create and destroy: the actor is the volume's name.</summary>
    public void Volume(string action, string name, string driver) =>
        Record("volume", action, name, name, new Dictionary<string, string> { ["driver"] = driver });

    private void Record(string type, string action, string id, string name, Dictionary<string, string> attributes) =>
        Log.RecordObjectEvent(new ContainerEvent { Time = DateTime.UtcNow, Type = type, Action = action, Id = id, Name = name, Attributes = attributes });
}
