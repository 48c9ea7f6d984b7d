using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using OpenIddict.Abstractions;
using RareCancerNetwork.Protos.Security;

namespace RareCancerNetwork.Spoke.LocalApi;

/// <summary>
/// Who may call the spoke's local API: clients the hub registered to this node, acting for this
/// node's facility, holding the local scope. The audience (this node) is checked by token validation.
/// </summary>
public static class SpokePolicies
{
    public const string LocalUser = "local-user";

    public static void Add(AuthorizationOptions options, SpokeOptions spoke)
    {
        options.AddPolicy(LocalUser, policy => policy.RequireAuthenticatedUser()
            .RequireClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.SpokeUser)
            .RequireAssertion(context => context.User.HasScope(NetworkClaims.Scopes.Local)
                && context.User.FindFirstValue(NetworkClaims.Node) == spoke.NodeId
                && context.User.FindFirstValue(NetworkClaims.Facility) == spoke.FacilityCode));
        // Note: no anonymous access, not even on loopback; health is the only exception.
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
    }
}
