using RareCancerNetwork.Node.Audit;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// Records refused token requests (client authentication or grant refused at the token endpoint) in the
/// hub's audit trail, before the refusal reaches the caller.
/// </summary>
public sealed class TokenRequestAuditMiddleware(RequestDelegate next, AuditLog log)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path == TokenEndpoint.Path)
        {
            context.Response.OnStarting(() => AuditIfRefusedAsync(context));
        }
        return next(context);
    }

    private async Task AuditIfRefusedAsync(HttpContext context)
    {
        if (context.Response.StatusCode is not (StatusCodes.Status400BadRequest or StatusCodes.Status401Unauthorized))
        {
            return;
        }
        var clientId = context.Request.HasFormContentType && context.Request.Form.TryGetValue("client_id", out var value) ? value.ToString() : "";
        await log.AppendAsync(new AuditRecord(AuditVocabulary.EventTypeAuthentication, "E", AuditVocabulary.Failure, TokenEndpoint.Path,
            clientId.Length is > 0 and <= 100 ? clientId : "unknown", "", context.Connection.RemoteIpAddress?.ToString() ?? "", "", "",
            "token request refused"), CancellationToken.None);
    }
}
