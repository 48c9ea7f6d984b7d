using Microsoft.AspNetCore.Authorization;
using OpenIddict.Abstractions;
using RareCancerNetwork.Protos.Security;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>One declared policy per hub RPC surface: client kind + scope. Institution scope is checked in the services.</summary>
public static class HubPolicies
{
    public const string SpokeNode = "spoke-node";
    public const string Expert = "expert";
    public const string DirectoryReader = "directory-reader";

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(SpokeNode, policy => policy.RequireAuthenticatedUser()
            .RequireClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.SpokeNode)
            .RequireAssertion(context => context.User.HasScope(NetworkClaims.Scopes.Sync)));
        // An expert acts through a hub-registered expert client or, signed in, as an expert pathologist.
        options.AddPolicy(Expert, policy => policy.RequireAuthenticatedUser()
            .RequireClaim(NetworkClaims.Expert)
            .RequireAssertion(context => context.User.HasScope(NetworkClaims.Scopes.Expert)
                && (context.User.HasClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.Expert)
                    || (context.User.HasClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.Person)
                        && context.User.HasClaim(NetworkClaims.Role, NetworkClaims.Roles.ExpertPathologist)))));
        options.AddPolicy(DirectoryReader, policy => policy.RequireAuthenticatedUser()
            .RequireAssertion(context => context.User.HasScope(NetworkClaims.Scopes.Directory)));
        // Note: anything without an explicit policy still needs an authenticated caller.
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
    }
}
