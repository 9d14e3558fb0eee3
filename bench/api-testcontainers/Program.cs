using System.Diagnostics;
using System.Globalization;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;

// Times Testcontainers from StartAsync to ready (busybox httpd answering the HTTP wait strategy on its published
// port) against the engine DOCKER_HOST names, one warm-up then N timed rounds; each container is disposed before the
// next. Prints "ready-ms <ms>" per timed round. Usage: ApiBench.Testcontainers <image> <rounds> [network]
if (args.Length < 2) { Console.Error.WriteLine("usage: ApiBench.Testcontainers <image> <rounds> [network]"); return 2; }
string image = args[0];
int rounds = int.Parse(args[1], CultureInfo.InvariantCulture);
string? network = args.Length > 2 ? args[2] : null;
// The reaper (Ryuk) is turned off by the caller (TESTCONTAINERS_RYUK_DISABLED=true): each round removes its own container.

for (int round = 0; round <= rounds; round++)
{
    using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    var builder = new ContainerBuilder()
        .WithImage(image)
        .WithImagePullPolicy(PullPolicy.Never)
        .WithEntrypoint("sh", "-c")
        .WithCommand("mkdir -p /www && echo ready > /www/index.html && exec httpd -f -p 80 -h /www")
        .WithPortBinding(80, true)
        .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort(80).ForPath("/")));
    if (network is not null) builder = builder.WithNetwork(network);
    var container = builder.Build();
    try
    {
        var watch = Stopwatch.StartNew();
        await container.StartAsync(deadline.Token);
        watch.Stop();
        if (round > 0) Console.WriteLine("ready-ms " + watch.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture));
    }
    finally
    {
        await container.DisposeAsync();
    }
}
return 0;
