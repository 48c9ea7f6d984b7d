using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>Authentication schemes whose request handling serves only requests that are not gRPC calls.</summary>
public sealed class CallAuthenticationOptions
{
    /// <summary>
    /// Schemes skipped for gRPC calls: the hub's OAuth server, whose request handler looks at every request to see
    /// whether it is one of the server's endpoints (token, device, sign-in, discovery) — form posts and pages, never a
    /// gRPC call — and was a tenth of the CPU of an authenticated read.
    /// </summary>
    public HashSet<string> NotForCalls { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The node's authentication. Requests that are not gRPC calls go through ASP.NET Core's authentication middleware as
/// they are. A gRPC call goes through the same steps — each scheme's request handler, then the default scheme's
/// authentication, whose principal becomes the caller — except the request handlers of
/// <see cref="CallAuthenticationOptions.NotForCalls"/>. Tokens are validated exactly as before (the default scheme's
/// handler does it); only work that cannot apply to a call is left out.
/// </summary>
public static class CallAuthentication
{
    public static IApplicationBuilder UseNodeAuthentication(this IApplicationBuilder app)
    {
        app.UseMiddleware<CallAuthenticationMiddleware>();
        // The key ASP.NET Core's own UseAuthentication sets: without it, the host adds that middleware again at the
        // pipeline's start, and every request would be authenticated twice.
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        return app;
    }

    /// <summary>gRPC's content type (<c>application/grpc</c>, <c>application/grpc+proto</c>…), as the gRPC server recognises a call.</summary>
    public static bool IsGrpcCall(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (type.Length == "application/grpc".Length || type["application/grpc".Length] is '+' or ';');
}

internal sealed class CallAuthenticationMiddleware(RequestDelegate next, IAuthenticationSchemeProvider schemes, IOptions<CallAuthenticationOptions> options)
{
    private readonly AuthenticationMiddleware _standard = new(next, schemes);

    public Task InvokeAsync(HttpContext context) => CallAuthentication.IsGrpcCall(context.Request) ? AuthenticateCallAsync(context) : _standard.Invoke(context);

    private async Task AuthenticateCallAsync(HttpContext context)
    {
        context.Features.Set<IAuthenticationFeature>(new AuthenticationFeature { OriginalPath = context.Request.Path, OriginalPathBase = context.Request.PathBase });
        var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        foreach (var scheme in await schemes.GetRequestHandlerSchemesAsync())
        {
            if (options.Value.NotForCalls.Contains(scheme.Name))
            {
                continue;
            }
            // A handler that answers the request itself ends it here, as in ASP.NET Core's middleware.
            if (await handlers.GetHandlerAsync(context, scheme.Name) is IAuthenticationRequestHandler handler && await handler.HandleRequestAsync())
            {
                return;
            }
        }
        if (await schemes.GetDefaultAuthenticateSchemeAsync() is { } defaultScheme)
        {
            var result = await context.AuthenticateAsync(defaultScheme.Name);
            if (result.Principal is not null)
            {
                context.User = result.Principal;
            }
            if (result.Succeeded)
            {
                var authenticated = new AuthenticatedCall(result);
                context.Features.Set<IHttpAuthenticationFeature>(authenticated);
                context.Features.Set<IAuthenticateResultFeature>(authenticated);
            }
        }
        await next(context);
    }

    /// <summary>The call's authentication result, where authorization looks for it (a principal set later replaces it).</summary>
    private sealed class AuthenticatedCall(AuthenticateResult result) : IAuthenticateResultFeature, IHttpAuthenticationFeature
    {
        private AuthenticateResult? _result = result;
        private System.Security.Claims.ClaimsPrincipal? _user = result.Principal;

        public AuthenticateResult? AuthenticateResult
        {
            get => _result;
            set
            {
                _result = value;
                _user = value?.Principal;
            }
        }

        public System.Security.Claims.ClaimsPrincipal? User
        {
            get => _user;
            set
            {
                _user = value;
                _result = null;
            }
        }
    }
}
