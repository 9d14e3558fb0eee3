namespace PSContainer.Engine.Containers;

public sealed partial class Container
{
    /// <summary>The effective security options: seccomp=default|unconfined|&lt;profile path&gt;, no-new-privileges=…,
    /// and label=disable / apparmor=… when given.</summary>
    public string[] SecurityOptions { get; init; } = [];
}
