using Grpc.Core;
using Grpc.Core.Interceptors;
using OpenIddict.Abstractions;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>
/// Enforces the declared policy of every RPC (caller role, scope, and for a spoke, that the caller
/// belongs to this node and facility). Data-dependent institution rules (whose record is it) are
/// enforced by the services. An RPC without a declared policy is refused: fail closed.
/// </summary>
public sealed class RpcPolicyInterceptor(NodeDescription node, ICallerStanding standing) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(request, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(request, responseStream, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(requestStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    private async Task AuthorizeAsync(ServerCallContext context)
    {
        if (RpcPolicies.IsInfrastructure(context.Method))
        {
            return;
        }
        if (!node.Policies.TryGetValue(context.Method, out var policy))
        {
            throw new AccessDeniedException($"{context.Method} has no declared authorization policy.");
        }
        if (policy.Callers.Contains(CallerRoles.Public))
        {
            // Public data for anyone: no token to check (a token, if sent, grants nothing more).
            return;
        }
        var user = context.GetHttpContext().User;
        var role = CallerRoles.Of(user);
        if (!policy.Callers.Contains(role))
        {
            throw new AccessDeniedException($"The role '{(role.Length == 0 ? "unknown" : role)}' may not call {context.Method}.");
        }
        if (!user.HasScope(policy.Scope))
        {
            throw new AccessDeniedException($"The token lacks the scope '{policy.Scope}' that {context.Method} requires.");
        }
        var caller = NetworkCaller.From(user);
        if (policy.Institution == InstitutionRule.ThisSpoke && (caller.NodeId != node.NodeId || caller.FacilityCode != node.SpokeFacilityCode))
        {
            throw new AccessDeniedException("The caller does not belong to this spoke's facility.");
        }
        // Revocation takes effect at once, not when the token expires.
        var presented = context.GetHttpContext().Connection.ClientCertificate;
        var thumbprint = presented is null ? null : CertificateThumbprints.Of(presented);
        if (!await standing.IsInGoodStandingAsync(caller, thumbprint, context.CancellationToken))
        {
            throw new AccessDeniedException("The caller's registration has been revoked or disabled.");
        }
    }
}

/// <summary>Whether a caller with a valid token may still act (not revoked, not disabled).</summary>
public interface ICallerStanding
{
    /// <param name="caller">The caller as its token describes it.</param>
    /// <param name="clientCertificateThumbprint">SHA-256 of the TLS client certificate presented, if any.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    Task<bool> IsInGoodStandingAsync(NetworkCaller caller, string? clientCertificateThumbprint, CancellationToken cancellationToken);
}

/// <summary>Where no registry is at hand (a spoke): a token is as good as its lifetime.</summary>
public sealed class TokenLifetimeStanding : ICallerStanding
{
    public Task<bool> IsInGoodStandingAsync(NetworkCaller caller, string? clientCertificateThumbprint, CancellationToken cancellationToken) => Task.FromResult(true);
}
