using Grpc.Core;
using Grpc.Core.Interceptors;
using OpenIddict.Abstractions;
using RareCancerNetwork.Protos.Security;

namespace RareCancerNetwork.Protos.Errors;

/// <summary>
/// Enforces the declared policy of every RPC (caller role, scope, and for a spoke, that the caller
/// belongs to this node and facility). Data-dependent institution rules (whose record is it) are
/// enforced by the services. An RPC without a declared policy is refused: fail closed.
/// </summary>
public sealed class RpcPolicyInterceptor(IReadOnlyDictionary<string, RpcPolicy> policies, string? spokeNodeId = null, string? spokeFacilityCode = null) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        if (RpcPolicies.IsInfrastructure(context.Method))
        {
            return;
        }
        if (!policies.TryGetValue(context.Method, out var policy))
        {
            throw new AccessDeniedException($"{context.Method} has no declared authorization policy.");
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
        if (policy.Institution == InstitutionRule.ThisSpoke)
        {
            var caller = NetworkCaller.From(user);
            if (caller.NodeId != spokeNodeId || caller.FacilityCode != spokeFacilityCode)
            {
                throw new AccessDeniedException("The caller does not belong to this spoke's facility.");
            }
        }
    }
}
