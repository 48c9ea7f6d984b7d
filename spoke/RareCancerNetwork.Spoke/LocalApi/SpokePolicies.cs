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
        // A person of this facility in a local role, or a client registered to this node.
        options.AddPolicy(LocalUser, policy => policy.RequireAuthenticatedUser()
            .RequireAssertion(context => context.User.HasScope(NetworkClaims.Scopes.Local)
                && context.User.FindFirstValue(NetworkClaims.Node) == spoke.NodeId
                && context.User.FindFirstValue(NetworkClaims.Facility) == spoke.FacilityCode
                && (context.User.HasClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.SpokeUser)
                    || (context.User.HasClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.Person)
                        && NetworkClaims.Roles.UsesSpoke(context.User.FindFirstValue(NetworkClaims.Role) ?? "")))));
        // Note: no anonymous access, not even on loopback; health is the only exception.
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
    }
}
