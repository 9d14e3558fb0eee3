using PSContainer.Api;
using PSContainer.Engine;

// psc-api: serves the Docker Engine API on a Unix socket from the state root the cmdlets use, so docker, compose and
// SDK clients drive the same containers. Started detached by Start-ContainerApiService (or a service manager).
ServiceOptions options;
try
{
    options = ServiceOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("psc-api: " + e.Message);
    return 2;
}
// The engine reads its roots from the environment, as every cmdlet session does.
if (options.Root is not null) Environment.SetEnvironmentVariable("PSCONTAINER_ROOT", Path.GetFullPath(options.Root));
if (options.RunRoot is not null) Environment.SetEnvironmentVariable("PSCONTAINER_RUNROOT", Path.GetFullPath(options.RunRoot));

try
{
    uint? gid = options.Group is null ? null : ServiceOptions.GroupId(options.Group);
    var tcp = options.Tcp is null ? null : TcpTlsListener.Load(options.Tcp);
    var engine = ContainerEngine.ForEnvironment();
    // Waits, followed logs and attaches each hold a pool thread while the engine blocks (monitor waits, log polls):
    // enough threads from the start that a few dozen clients do not wait on the pool's slow growth.
    ThreadPool.GetMinThreads(out int workers, out int io);
    ThreadPool.SetMinThreads(Math.Max(workers, 64), io);
    var state = new ApiState(engine);
    UnixSocket.PrepareFor(options.Socket);

    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
    builder.Logging.ClearProviders();
    // Under systemd without --log (Install-ContainerApiService's unit): the journal, through stderr with <N> priorities.
    string? logPath = options.LogPath is null && Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 } ? null
        : options.LogPath ?? Path.Combine(engine.Paths.RunRoot, "psc-api.log");
    if (logPath is null) builder.Logging.AddSystemdConsole();
    else builder.Logging.AddProvider(new FileLoggerProvider(logPath));
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.ListenUnixSocket(options.Socket, listen => listen.Use(HalfCloseConnection.Middleware));
        k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(10);
        tcp?.Listen(k);
    });
    var app = builder.Build();
    var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("psc-api");

    var stopping = app.Lifetime.ApplicationStopping;
    app.Use(async (ctx, next) =>
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Followed logs, events and stats end when the server stops, not only when their client leaves: otherwise
        // a stop waits out Kestrel's shutdown timeout (30 s, as long as the unit's TimeoutStopSec) for each client.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        ctx.RequestAborted = ended.Token;
        // dockerd's headers on every answer: what a client negotiates its version from.
        ctx.Response.Headers["Api-Version"] = ApiVersion.Max.ToString();
        ctx.Response.Headers["Docker-Experimental"] = "false";
        ctx.Response.Headers["Ostype"] = "linux";
        ctx.Response.Headers["Builder-Version"] = "1";
        ctx.Response.Headers.Server = $"PSContainer/{SystemEndpoints.EngineVersion} (linux)";
        string path = ctx.Request.Path.Value ?? "/";
        if (ApiVersion.TrySplitPath(path, out string version, out string rest))
        {
            if (ApiVersion.Refusal(version) is { } refusal)
            {
                await ApiErrors.WriteAsync(ctx, StatusCodes.Status400BadRequest, refusal);
                return;
            }
            ctx.Request.Path = rest;
        }
        // An answer whose shape changed between versions is given in the shape of the version asked for.
        using var served = ApiVersion.Use(ApiVersion.TryParse(version, out var asked) ? asked : ApiVersion.Max);
        try
        {
            await ApiErrors.Handle(ctx, next);
        }
        finally
        {
            HalfCloseConnection.RequestEnded(ctx);
        }
        log.LogInformation("{Method} {Path}{Query} {Status} {Ms:0}ms", ctx.Request.Method, path, ctx.Request.QueryString, ctx.Response.StatusCode,
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    });
    // A matched path with another method (405) or nothing matched: docker's error JSON rather than an empty answer.
    app.UseStatusCodePages(async sc =>
    {
        if (sc.HttpContext.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
            await ApiErrors.WriteAsync(sc.HttpContext, StatusCodes.Status405MethodNotAllowed, $"{sc.HttpContext.Request.Method} is not allowed on {sc.HttpContext.Request.Path}");
    });
    app.UseRouting();

    SystemEndpoints.Map(app, state);
    ContainerEndpoints.Map(app, state);
    ContainerStreamEndpoints.Map(app, state);
    ImageEndpoints.Map(app, state);
    ExecEndpoints.Map(app, state);
    NetworkEndpoints.Map(app, state);
    VolumeEndpoints.Map(app, state);
    ContainerFileEndpoints.Map(app, state);
    StatsEndpoints.Map(app, state);
    EventEndpoints.Map(app, state);
    RegistryEndpoints.Map(app, state);
    app.MapFallback(Unsupported.Answer);

    await UnixSocket.BindNarrow(() => app.StartAsync());
    UnixSocket.SetOwner(options.Socket, gid);
    string pidFile = options.PidFile ?? options.Socket + ".pid";
    File.WriteAllText(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
    log.LogInformation("serving the Docker API {Version} on unix://{Socket} for state root {Root}", ApiVersion.Max, options.Socket, engine.Paths.Root);
    if (options.Tcp is { } t) log.LogInformation("and on tcp://{Endpoint} with mutual TLS (client CA {Ca})", t.Endpoint, t.ClientCaFile);
    await app.WaitForShutdownAsync();
    log.LogInformation("stopped");
    File.Delete(pidFile);
    if (File.Exists(options.Socket)) File.Delete(options.Socket);
    return 0;
}
catch (Exception e) when (e is EngineException or IOException or ArgumentException or UnauthorizedAccessException or PSContainer.Native.NativeException)
{
    Console.Error.WriteLine("psc-api: " + e.Message);
    return 1;
}
