using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using RareCancerNetwork.Node.Authorization;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// Issues access tokens for the client-credentials grant. OpenIddict has already authenticated
/// the client and checked its grant and scope permissions; this adds who the client is in
/// network terms (kind, facility, node, expert) and which API the token is for (audience).
/// </summary>
internal static class TokenEndpoint
{
    public const string Path = "/connect/token";

    public static void Map(WebApplication app) =>
        app.MapPost(Path, IssueAsync).AllowAnonymous().ExcludeFromDescription();

    private static async Task<IResult> IssueAsync(HttpContext http, ClientRegistry clients, UserAccounts users, CancellationToken cancellationToken)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict server request cannot be retrieved.");
        if (request.IsDeviceCodeGrantType() || request.IsRefreshTokenGrantType() || request.IsAuthorizationCodeGrantType())
        {
            return await IssueForPersonAsync(http, users, cancellationToken);
        }
        if (!request.IsClientCredentialsGrantType())
        {
            return Refuse(Errors.UnsupportedGrantType, "The grant type is not supported.");
        }
        if (!request.GetScopes().Any())
        {
            // Note: a token without scopes would be issued and then refused by every RPC; say so now.
            return Refuse(Errors.InvalidScope, "Ask for at least one of the network's scopes: " + string.Join(" ", IdentityRegistration.NetworkScopes) + ".");
        }
        var client = await clients.FindAsync(request.ClientId!, cancellationToken);
        if (client is null || client.RevokedAt is not null)
        {
            return Refuse(Errors.InvalidClient, "The client is unknown or has been revoked.");
        }

        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, client.ClientId)
            .SetClaim(Claims.Name, client.DisplayName)
            .SetClaim(NetworkClaims.ClientKind, client.Kind)
            .SetClaim(NetworkClaims.Facility, client.FacilityCode)
            .SetClaim(NetworkClaims.Node, client.NodeId)
            .SetClaim(NetworkClaims.Expert, client.ExpertId);
        identity.SetScopes(request.GetScopes());
        identity.SetResources(client.Kind == NetworkClaims.Kinds.SpokeUser
            ? NetworkClaims.Audiences.Spoke(client.NodeId!)
            : NetworkClaims.Audiences.Hub);
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Device code or authorization code redeemed, or refresh token used: OpenIddict has validated it; the person's current
    /// account (role, facility, disabled or not) decides what the new tokens say.
    /// </summary>
    private static async Task<IResult> IssueForPersonAsync(HttpContext http, UserAccounts users, CancellationToken cancellationToken)
    {
        var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var userId = result.Principal?.GetClaim(Claims.Subject);
        var account = userId is null ? null : await users.FindActiveAsync(userId, cancellationToken);
        if (account is null)
        {
            return Refuse(Errors.InvalidGrant, "The user may no longer sign in.");
        }
        try
        {
            return Results.SignIn(new ClaimsPrincipal(PersonTokens.Create(account, result.Principal!.GetScopes())),
                authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }
        catch (RareCancerNetwork.Node.Errors.PreconditionFailedException exception)
        {
            return Refuse(Errors.InvalidGrant, exception.Message);
        }
    }

    private static IResult Refuse(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
