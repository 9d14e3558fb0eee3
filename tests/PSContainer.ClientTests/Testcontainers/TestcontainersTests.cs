using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Images;
using Xunit;

namespace PSContainer.ClientTests;

/// <summary>Testcontainers for .NET 4 (API 1.44, through Docker.DotNet.Enhanced) against psc-api: a busybox httpd
/// container with a published port and an HTTP wait strategy, reached with HttpClient and disposed.</summary>
public sealed class TestcontainersTests
{
    [SkippableFact]
    public async Task StartsWaitsForAndRemovesAnHttpContainer()
    {
        using var server = ClientTestServer.StartOrSkip();
        // Testcontainers reads its settings from the environment once per process: set before its first use.
        // Ryuk (the reaper container) is turned off by its documented setting; the test removes what it makes.
        Environment.SetEnvironmentVariable("DOCKER_HOST", server.DockerHost);
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var container = new ContainerBuilder(ClientTestServer.Image)
            .WithImagePullPolicy(PullPolicy.Missing)
            .WithName("tc-httpd")
            .WithEntrypoint("sh", "-c")
            .WithCommand("mkdir -p /www && echo hello from psc > /www/index.html && exec httpd -f -p 80 -h /www")
            .WithPortBinding(80, assignRandomHostPort: true)
            // A healthcheck in the create request (StartInterval is API 1.44's), waited for as well as the HTTP answer.
            .WithCreateParameterModifier(p => p.Healthcheck = new Docker.DotNet.Models.HealthcheckConfig
            {
                Test = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"],
                Interval = TimeSpan.FromSeconds(1),
                Timeout = TimeSpan.FromSeconds(5),
                StartInterval = TimeSpan.FromSeconds(1),
                Retries = 30,
            })
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort(80).ForPath("/")).UntilContainerIsHealthy())
            .Build();
        string id;
        try
        {
            await container.StartAsync(deadline.Token);
            id = container.Id;
            Assert.Contains("tc-httpd", await ApiSocket.ContainerNames(server.Socket));
            Assert.Equal(DotNet.Testcontainers.Containers.TestcontainersHealthStatus.Healthy, container.Health);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            string body = await http.GetStringAsync($"http://{container.Hostname}:{container.GetMappedPublicPort(80)}/", deadline.Token);
            Assert.Equal("hello from psc\n", body);
        }
        finally
        {
            await container.DisposeAsync();
        }
        Assert.NotEmpty(id);
        Assert.DoesNotContain("tc-httpd", await ApiSocket.ContainerNames(server.Socket));
        var report = server.TearDown();
        Assert.Empty(report.ContainersLeft);
        Assert.False(report.ServerAlive, "psc-api outlived Stop-ContainerApiService");
        Assert.Empty(report.Leaks);
    }
}
