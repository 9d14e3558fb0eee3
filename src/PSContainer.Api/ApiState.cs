using PSContainer.Engine;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>What every handler shares: the engine of the served state root and the service layer over it.</summary>
public sealed class ApiState
{
    public ApiState(ContainerEngine engine)
    {
        Engine = engine;
        Containers = new ContainerService(engine);
        Networks = new NetworkService(engine, Containers);
        Volumes = new VolumeService(engine);
        DiskUsage = new DiskUsageService(engine, Containers);
        InstanceId = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(engine.Paths.Root)))[..32];
    }

    public ContainerEngine Engine { get; }
    public ContainerService Containers { get; }
    public ImageService Images => Containers.Images;
    public string InstanceId { get; }
    public NetworkService Networks { get; }
    public VolumeService Volumes { get; }
    public DiskUsageService DiskUsage { get; }
}
