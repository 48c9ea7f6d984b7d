using Microsoft.AspNetCore.Http;

namespace RareCancerNetwork.Node.Audit;

/// <summary>
/// Records in the audit trail every call refused for want of a valid token (HTTP 401 before any RPC runs).
/// The hub adds its own record of refused token requests (see its Identity folder).
/// </summary>
public sealed class AuthenticationFailureAuditMiddleware(RequestDelegate next, AuditLog log)
{
    public Task InvokeAsync(HttpContext context)
    {
        // Written as the response starts, so the entry exists before the caller learns the outcome.
        context.Response.OnStarting(() => AuditIfRefusedAsync(context));
        return next(context);
    }

    private async Task AuditIfRefusedAsync(HttpContext context)
    {
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            Telemetry.NodeTelemetry.TokenFailures.Add(1, new KeyValuePair<string, object?>("rcn.reason", context.Request.Headers.Authorization.Count == 0 ? "no_token" : "refused"));
            await log.AppendAsync(new AuditRecord(AuditVocabulary.EventTypeAuthentication, "E", AuditVocabulary.Failure, context.Request.Path,
                "anonymous", "", context.Connection.RemoteIpAddress?.ToString() ?? "", "", "",
                context.Request.Headers.Authorization.Count == 0 ? "no token" : "token refused"), CancellationToken.None);
        }
    }
}
