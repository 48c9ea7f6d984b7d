using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// What a person's token says: subject, role, home facility, and the one API it is for. People of
/// a spoke (pathologists, referral coordinators) get tokens for their facility's spoke; the others
/// for the hub. Scopes are what the role allows, intersected with what the client asked for.
/// </summary>
internal static class PersonTokens
{
    public static IReadOnlyList<string> AllowedScopes(string role) => role switch
    {
        NetworkClaims.Roles.Pathologist or NetworkClaims.Roles.ReferralCoordinator or NetworkClaims.Roles.HotlineCounsellor => [NetworkClaims.Scopes.Local],
        NetworkClaims.Roles.CentralHotlineCounsellor => [NetworkClaims.Scopes.Hotline, NetworkClaims.Scopes.Directory],
        NetworkClaims.Roles.ExpertPathologist => [NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory],
        NetworkClaims.Roles.Statistician => [NetworkClaims.Scopes.Statistics, NetworkClaims.Scopes.Directory],
        NetworkClaims.Roles.Administrator => [NetworkClaims.Scopes.Admin, NetworkClaims.Scopes.Directory],
        NetworkClaims.Roles.RegistryDataManager => [NetworkClaims.Scopes.Registry, NetworkClaims.Scopes.Directory],
        _ => [],
    };

    public static ClaimsIdentity Create(UserAccount account, IEnumerable<string> requestedScopes)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, account.UserId)
            .SetClaim(Claims.Name, account.DisplayName)
            .SetClaim(NetworkClaims.ClientKind, NetworkClaims.Kinds.Person)
            .SetClaim(NetworkClaims.Role, account.Role)
            .SetClaim(NetworkClaims.Facility, account.FacilityCode)
            .SetClaim(NetworkClaims.Expert, account.ExpertId);
        var requested = requestedScopes.ToHashSet(StringComparer.Ordinal);
        var scopes = AllowedScopes(account.Role).Where(requested.Contains).ToList();
        if (requested.Contains(NetworkClaims.Scopes.OfflineAccess))
        {
            scopes.Add(NetworkClaims.Scopes.OfflineAccess);
        }
        identity.SetScopes(scopes);
        if (NetworkClaims.Roles.UsesSpoke(account.Role))
        {
            if (account.SpokeNodeId is null)
            {
                throw new PreconditionFailedException("NO_SPOKE", $"No spoke node serves facility {account.FacilityCode} yet.");
            }
            identity.SetClaim(NetworkClaims.Node, account.SpokeNodeId);
            identity.SetResources(NetworkClaims.Audiences.Spoke(account.SpokeNodeId));
        }
        else
        {
            identity.SetResources(NetworkClaims.Audiences.Hub);
        }
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        return identity;
    }
}
