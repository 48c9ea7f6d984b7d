namespace RareCancerNetwork.Spoke.LocalApi;

/// <summary>
/// A spoke that has never reached the hub has no keys to validate tokens with. Its callers get
/// UNAVAILABLE with a message saying so (they may retry), instead of an HTTP 500 that gRPC reports as UNKNOWN.
/// </summary>
public sealed partial class HubKeysUnavailableMiddleware(RequestDelegate next, ILogger<HubKeysUnavailableMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        // OpenIddict answers a validation it cannot perform (no keys) with a server_error challenge (HTTP 500).
        if (context.Response.StatusCode == StatusCodes.Status500InternalServerError && !context.Response.HasStarted
            && context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            LogNoKeys(logger);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)Grpc.Core.StatusCode.Unavailable).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString("The spoke has not yet obtained the hub's signing keys; try again when the hub is reachable.");
        }
    }

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "A token could not be validated: the hub's signing keys were never obtained")]
    private static partial void LogNoKeys(ILogger logger);
}
