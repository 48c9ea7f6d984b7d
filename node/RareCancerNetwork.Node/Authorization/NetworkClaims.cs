using System.Security.Claims;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>
/// Claims, scopes and audiences of the network's access tokens. Identity (who the caller is, which
/// facility and node) always comes from these claims, never from a request body.
/// </summary>
public static class NetworkClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string ClientKind = "rcn_kind";
    public const string Facility = "rcn_facility";
    public const string Node = "rcn_node";
    public const string Expert = "rcn_expert";
    public const string Role = "role";

    /// <summary>Kinds of registered client.</summary>
    public static class Kinds
    {
        public const string SpokeNode = "spoke_node";
        public const string SpokeUser = "spoke_user";
        public const string Expert = "expert";
        /// <summary>A person signed in with the device flow; see <see cref="Roles"/>.</summary>
        public const string Person = "person";
    }

    /// <summary>Roles of people (claim <c>role</c>).</summary>
    public static class Roles
    {
        public const string Pathologist = "pathologist";
        public const string ExpertPathologist = "expert_pathologist";
        public const string ReferralCoordinator = "referral_coordinator";
        public const string Statistician = "statistician";
        public const string Administrator = "administrator";
        /// <summary>Keeps the national registry's data right: reads its records (never local patient ids) and raises data queries.</summary>
        public const string RegistryDataManager = "registry_data_manager";
        /// <summary>Takes hotline calls at a core center, through its spoke: sees that centre's calls only.</summary>
        public const string HotlineCounsellor = "hotline_counsellor";
        /// <summary>Takes hotline calls at the central institution, through the hub: sees the hub's own calls only.</summary>
        public const string CentralHotlineCounsellor = "central_hotline_counsellor";

        public static readonly IReadOnlyList<string> All =
            [Pathologist, ExpertPathologist, ReferralCoordinator, Statistician, Administrator, RegistryDataManager, HotlineCounsellor, CentralHotlineCounsellor];

        /// <summary>Roles that reach national record-level data or administer the network sign in with a second factor.</summary>
        public static bool RequiresSecondFactor(string role) => role is Administrator or RegistryDataManager;

        /// <summary>Roles that act through their facility's spoke rather than at the hub.</summary>
        public static bool UsesSpoke(string role) => role is Pathologist or ReferralCoordinator or HotlineCounsellor;
    }

    /// <summary>The public OAuth client of the command-line tools (device authorization grant).</summary>
    public const string CommandLineClientId = "rcn-cli";

    public static class Scopes
    {
        /// <summary>Spoke node ⇄ hub store-and-forward.</summary>
        public const string Sync = "rcn.sync";
        /// <summary>Expert pathologist API at the hub.</summary>
        public const string Expert = "rcn.expert";
        /// <summary>A spoke's local API, for that spoke's own users.</summary>
        public const string Local = "rcn.local";
        /// <summary>Read the national directory.</summary>
        public const string Directory = "rcn.directory";
        /// <summary>Administration at the hub (audit review, registrations).</summary>
        public const string Admin = "rcn.admin";
        /// <summary>National statistics (aggregates only).</summary>
        public const string Statistics = "rcn.stats";
        /// <summary>The national registry's data management (records and data queries) at the hub.</summary>
        public const string Registry = "rcn.registry";
        /// <summary>The central institution's hotline at the hub (its own calls only).</summary>
        public const string Hotline = "rcn.hotline";
        /// <summary>Refresh tokens for people's sessions.</summary>
        public const string OfflineAccess = "offline_access";
    }

    public static class Audiences
    {
        public const string Hub = "rcn-hub";

        /// <summary>Tokens for a spoke's local API name that spoke, so they are useless at any other spoke.</summary>
        public static string Spoke(string nodeId) => $"rcn-spoke-{nodeId}";
    }
}

/// <summary>The authenticated caller as the token describes it.</summary>
public sealed record NetworkCaller(string Subject, string Kind, string DisplayName, string? FacilityCode, string? NodeId, string? ExpertId, string? Role = null)
{
    public bool IsPerson => Kind == NetworkClaims.Kinds.Person;

    /// <summary>The calling spoke node and its facility; PERMISSION_DENIED for any other caller.</summary>
    public (string NodeId, string FacilityCode) RequireSpokeNode() => NodeId is { } node && FacilityCode is { } facility
        ? (node, facility)
        : throw new Errors.AccessDeniedException("The token does not identify a spoke node.");

    public static NetworkCaller From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(NetworkClaims.Subject) ?? throw new InvalidOperationException("The token has no subject."),
        principal.FindFirstValue(NetworkClaims.ClientKind) ?? "",
        principal.FindFirstValue(NetworkClaims.Name) ?? principal.FindFirstValue(NetworkClaims.Subject)!,
        principal.FindFirstValue(NetworkClaims.Facility),
        principal.FindFirstValue(NetworkClaims.Node),
        principal.FindFirstValue(NetworkClaims.Expert),
        principal.FindFirstValue(NetworkClaims.Role));
}
