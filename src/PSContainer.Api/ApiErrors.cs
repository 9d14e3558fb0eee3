using System.Text.Json.Nodes;
using PSContainer.Engine;

namespace PSContainer.Api;

/// <summary>An error the API answers with a status code and docker's {"message": …} body.</summary>
public sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiException BadParameter(string message) => new(StatusCodes.Status400BadRequest, message);
    public static ApiException NotImplemented(string message) => new(StatusCodes.Status501NotImplemented, message);
}

public static class ApiErrors
{
    /// <summary>The HTTP status dockerd gives the same failure: 404 missing, 409 conflict, 400 bad input, else 500.</summary>
    public static int StatusOf(EngineException e) => e.ErrorId switch
    {
        "ContainerNameInUse" or "ContainerRunning" or "ContainerNotRunning" or "ImageInUse" or "ContainerNotStarted" => StatusCodes.Status409Conflict,
        "AmbiguousContainerId" or "AmbiguousImageId" => StatusCodes.Status400BadRequest,
        _ => e.Kind switch
        {
            ErrorKind.ObjectNotFound => StatusCodes.Status404NotFound,
            ErrorKind.ResourceExists => StatusCodes.Status409Conflict,
            ErrorKind.InvalidArgument or ErrorKind.InvalidData => StatusCodes.Status400BadRequest,
            ErrorKind.InvalidOperation => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status500InternalServerError,
        },
    };

    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            // Headers are gone (a stream had begun): all that is left is to end it.
            context.Abort();
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["message"] = message }.ToJsonString() + "\n");
    }

    /// <summary>Turns what a handler threw into docker's error answer; logs what is a server fault.</summary>
    public static async Task Handle(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (ApiException e)
        {
            await WriteAsync(context, e.Status, e.Message);
        }
        catch (EngineException e)
        {
            int status = StatusOf(e);
            if (status >= 500) Log(context).LogError(e, "{Method} {Path}: {Id}", context.Request.Method, context.Request.Path, e.ErrorId);
            await WriteAsync(context, status, e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer.
        }
        catch (System.Text.Json.JsonException e)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, "invalid JSON: " + e.Message);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, e.StatusCode, e.Message);
        }
        catch (Exception e)
        {
            Log(context).LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, e.Message);
        }
    }

    private static ILogger Log(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("psc-api");
}
