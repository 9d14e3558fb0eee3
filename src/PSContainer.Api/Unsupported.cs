namespace PSContainer.Api;

/// <summary>
/// Docker endpoints this server knows but does not serve yet answer 501 with what is missing; any other path 404
/// with dockerd's "page not found". Never a hang, never an empty answer.
/// </summary>
public static class Unsupported
{
    private static readonly string[] Known =
    [
        "/containers/", "/exec/", "/images/", "/networks", "/volumes", "/events", "/system/", "/build", "/commit", "/auth",
        "/plugins", "/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs", "/distribution/", "/session",
    ];

    public static Task Answer(HttpContext ctx)
    {
        string path = ctx.Request.Path.Value ?? "/";
        bool known = Known.Any(k => path.StartsWith(k, StringComparison.Ordinal) || path == k.TrimEnd('/'));
        return known
            ? ApiErrors.WriteAsync(ctx, StatusCodes.Status501NotImplemented,
                $"{ctx.Request.Method} {path} is not served by PSContainer's Docker API yet (issue 13)")
            : ApiErrors.WriteAsync(ctx, StatusCodes.Status404NotFound, "page not found");
    }
}
