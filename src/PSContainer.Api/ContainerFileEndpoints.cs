using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using PSContainer.Engine.Containers;
using PSContainer.Native;

namespace PSContainer.Api;

/// <summary>
/// The container endpoints for its files: the archive API docker cp uses (GET a path as a tar, HEAD its stat, PUT a
/// tar into a directory), export (the whole file system as a tar) and changes (docker diff). The engine's copy code
/// resolves every path inside the container's root; this only maps requests and answers.
/// </summary>
public static class ContainerFileEndpoints
{
    public const string StatHeader = "X-Docker-Container-Path-Stat";

    public static void Map(WebApplication app, ApiState state)
    {
        var s = state.Containers;

        app.MapMethods("/containers/{id}/archive", [HttpMethods.Head], (HttpContext ctx, string id) =>
        {
            var stat = s.StatPath(id, PathOf(ctx.Request));
            ctx.Response.Headers[StatHeader] = StatHeaderValue(stat);
            ctx.Response.ContentType = "application/json";
            return Results.Ok();
        });

        app.MapGet("/containers/{id}/archive", async (HttpContext ctx, string id) =>
        {
            string path = PathOf(ctx.Request);
            string full = s.ResolveId(id);
            AllowSynchronousBody(ctx);
            // The engine walks and writes synchronously (it holds the container's lock meanwhile); the stat header
            // goes out with the first byte, after the path is found, so a missing one is still a 404.
            await Task.Run(() => s.ArchivePath(full, path, stat =>
            {
                ctx.Response.Headers[StatHeader] = StatHeaderValue(stat);
                ctx.Response.ContentType = "application/x-tar";
                return ctx.Response.Body;
            }, ctx.RequestAborted), ctx.RequestAborted);
        });

        app.MapPut("/containers/{id}/archive", async (HttpContext ctx, string id) =>
        {
            var r = ctx.Request;
            string path = PathOf(r);
            bool noOverwriteDirNonDir = Query.Bool(r, "noOverwriteDirNonDir");
            bool copyOwners = Query.Bool(r, "copyUIDGID");
            string full = s.ResolveId(id);
            AllowSynchronousBody(ctx);
            // A copy is as large as the files copied: Kestrel's default body limit (30 MB) is not docker's.
            if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
            try
            {
                await Task.Run(() => s.ExtractArchive(full, path, r.Body, copyOwners, noOverwriteDirNonDir, ctx.RequestAborted), ctx.RequestAborted);
            }
            catch (PSContainer.Engine.EngineException e) when (e.Kind == PSContainer.Engine.ErrorKind.SecurityError)
            {
                // A member that would leave the directory (../, a link out): the client's tar is bad input.
                throw ApiException.BadParameter(e.Message);
            }
            return Results.Ok();
        });

        app.MapGet("/containers/{id}/export", async (HttpContext ctx, string id) =>
        {
            string full = s.ResolveId(id);
            AllowSynchronousBody(ctx);
            ctx.Response.ContentType = "application/x-tar";
            await Task.Run(() => s.Export(full, ctx.Response.Body, ctx.RequestAborted), ctx.RequestAborted);
        });

        app.MapGet("/containers/{id}/changes", (string id) =>
            Results.Json(new JsonArray(s.Changes(id).Select(c => (JsonNode?)new JsonObject { ["Path"] = c.Path, ["Kind"] = (int)c.Kind }).ToArray())));
    }

    private static string PathOf(HttpRequest r) =>
        Query.String(r, "path") ?? throw ApiException.BadParameter("path is required: the path in the container");

    /// <summary>The engine reads and writes bodies synchronously, on a pool thread of its own (never the request's).</summary>
    private static void AllowSynchronousBody(HttpContext ctx)
    {
        if (ctx.Features.Get<IHttpBodyControlFeature>() is { } body) body.AllowSynchronousIO = true;
    }

    /// <summary>dockerd's X-Docker-Container-Path-Stat: base64 of the JSON of its ContainerPathStat.</summary>
    public static string StatHeaderValue(ContainerPathStat stat)
    {
        var json = new JsonObject
        {
            ["name"] = stat.Name,
            ["size"] = stat.Size,
            ["mode"] = GoFileMode(stat.Type, stat.Permissions),
            ["mtime"] = DockerJson.Rfc3339Nano(stat.Modified.UtcDateTime),
            ["linkTarget"] = stat.LinkTarget,
        };
        return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    /// <summary>
    /// A Unix mode as Go's os.FileMode, which the docker CLI decodes the stat's mode into: the permission bits, the
    /// type and setuid/setgid/sticky each as a high bit of their own (ModeDir 1&lt;&lt;31 … ModeSticky 1&lt;&lt;20).
    /// </summary>
    public static uint GoFileMode(uint type, uint mode)
    {
        uint go = mode & 0x1FF;
        if ((mode & 0x800) != 0) go |= 1u << 23; // setuid
        if ((mode & 0x400) != 0) go |= 1u << 22; // setgid
        if ((mode & 0x200) != 0) go |= 1u << 20; // sticky
        go |= (type & Sys.S_IFMT) switch
        {
            Sys.S_IFDIR => 1u << 31,
            Sys.S_IFLNK => 1u << 27,
            Sys.S_IFBLK => 1u << 26,
            Sys.S_IFCHR => (1u << 26) | (1u << 21),
            Sys.S_IFIFO => 1u << 25,
            Sys.S_IFSOCK => 1u << 24,
            _ => 0u,
        };
        return go;
    }
}
