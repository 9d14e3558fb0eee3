using Docker.DotNet;
using Docker.DotNet.Models;
using PSContainer.Engine;
using Xunit;

namespace PSContainer.ClientTests;

/// <summary>Docker.DotNet 3.125 against psc-api: list, create, start, wait, logs, remove; what the SDK makes the
/// engine sees, and what the engine made the SDK sees and removes.</summary>
public sealed class DockerDotNetTests
{
    [SkippableFact]
    public async Task ListsCreatesStartsReadsLogsAndRemoves()
    {
        using var server = ClientTestServer.StartOrSkip();
        server.UseStateRootInThisProcess();
        var engine = ContainerEngine.ForEnvironment();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var client = new DockerClientConfiguration(new Uri(server.DockerHost)).CreateClient();

        // Made by the engine (the fixture): listed by the SDK.
        var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = true }, deadline.Token);
        Assert.Contains(images, i => i.RepoTags is not null && i.RepoTags.Contains(ClientTestServer.Image));
        var listed = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, deadline.Token);
        var engineMade = Assert.Single(listed, c => c.Names.Contains("/" + ClientTestServer.EngineMade));
        Assert.Equal(engine.Containers.List().Single(c => c.Name == ClientTestServer.EngineMade).Id, engineMade.ID);

        // Made by the SDK: seen by the engine.
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = ClientTestServer.Image,
            Name = "sdk-made",
            Cmd = ["sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"],
            Labels = new Dictionary<string, string> { ["made-by"] = "docker.dotnet" },
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, deadline.Token);
        var seen = Assert.Single(engine.Containers.List(), c => c.Name == "sdk-made");
        Assert.Equal(created.ID, seen.Id);
        Assert.Equal("docker.dotnet", seen.Labels["made-by"]);

        Assert.True(await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), deadline.Token));
        var waited = await client.Containers.WaitContainerAsync(created.ID, deadline.Token);
        Assert.Equal(3, waited.StatusCode);
        var inspected = await client.Containers.InspectContainerAsync(created.ID, deadline.Token);
        Assert.Equal("exited", inspected.State.Status);
        Assert.Equal(3, inspected.State.ExitCode);

        using (var logs = await client.Containers.GetContainerLogsAsync(created.ID, tty: false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, deadline.Token))
        {
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(deadline.Token);
            Assert.Equal("to stdout\n", stdout);
            Assert.Equal("to stderr\n", stderr);
        }

        await client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, deadline.Token);
        Assert.DoesNotContain(engine.Containers.List(), c => c.Name == "sdk-made");
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => client.Containers.InspectContainerAsync(created.ID, deadline.Token));
        // The engine's container removed by the SDK.
        await client.Containers.RemoveContainerAsync(engineMade.ID, new ContainerRemoveParameters(), deadline.Token);
        Assert.DoesNotContain(engine.Containers.List(), c => c.Name == ClientTestServer.EngineMade);

        var report = server.TearDown();
        Assert.Empty(report.ContainersLeft);
        Assert.False(report.ServerAlive, "psc-api outlived Stop-ContainerApiService");
        Assert.Empty(report.Leaks);
    }
}
