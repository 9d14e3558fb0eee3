using PSContainer.Engine.Containers;

namespace PSContainer.Engine.Services;

public sealed partial class ContainerService
{
    /// <summary>The container (reconciled) with its creation options, published ports and network endpoints.</summary>
    public ContainerDetails Inspect(string idOrName)
    {
        var container = Get(idOrName);
        var record = Manager.Resolve(container.Id);
        return new ContainerDetails(container, record.Options, Manager.Networks.PortsOf(container.Id), Manager.Networks.EndpointsOf(container.Id));
    }

    /// <summary>Containers with their details, for listings that show ports and networks (docker ps).</summary>
    public IReadOnlyList<ContainerDetails> ListDetails(ContainerQuery query) =>
        List(query).Select(c =>
        {
            ContainerOptions options;
            try { options = Manager.Resolve(c.Id).Options; }
            catch (EngineException) { options = new ContainerOptions { Image = c.Image }; } // removed meanwhile
            return new ContainerDetails(c, options, Manager.Networks.PortsOf(c.Id), Manager.Networks.EndpointsOf(c.Id));
        }).ToList();
}
