using System.Security.Claims;
using Google.Protobuf.Reflection;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>Which institution an allowed caller must belong to (checked against the data the RPC touches).</summary>
public enum InstitutionRule
{
    /// <summary>No patient data: any allowed caller.</summary>
    None,
    /// <summary>Only the calling spoke node's own records and feed.</summary>
    OwnNode,
    /// <summary>Only consultations assigned to the calling expert.</summary>
    AssignedExpert,
    /// <summary>Only callers of this spoke's own facility (node and facility in the token).</summary>
    ThisSpoke,
    /// <summary>The national registry as a whole, for the central institution (secondary-use consent only).</summary>
    National,
    /// <summary>The whole network's records, as aggregates only: counted by consent, protected before release, never a row.</summary>
    NationalAggregates,
    /// <summary>The national registry's records and data queries, for its data managers (no local patient ids exist at the hub).</summary>
    RegistryDataQuality,
    /// <summary>Only the hotline calls of the caller's own centre (the facility in the token), never another centre's.</summary>
    OwnCentre,
    /// <summary>The directory's public part only (names, places, designations, organ systems, contact pages), for anyone.</summary>
    PublicDirectory,
}

/// <summary>The declared policy of one RPC: who may call it, with which scope, within which institution.</summary>
public sealed record RpcPolicy(string Method, IReadOnlyList<string> Callers, string Scope, InstitutionRule Institution, bool PatientLevel);

/// <summary>
/// Caller roles of the authorization table: people's roles plus the three kinds of registered client.
/// </summary>
public static class CallerRoles
{
    public const string SpokeNode = "spoke_node";
    public const string LocalClient = "local_client";
    public const string ExpertClient = "expert_client";
    /// <summary>Anyone, signed in or not: the public facility finder.</summary>
    public const string Public = "public";

    public static readonly IReadOnlyList<string> All =
        [SpokeNode, LocalClient, ExpertClient, .. NetworkClaims.Roles.All];

    public static string Of(ClaimsPrincipal principal) => principal.FindFirstValue(NetworkClaims.ClientKind) switch
    {
        NetworkClaims.Kinds.SpokeNode => SpokeNode,
        NetworkClaims.Kinds.SpokeUser => LocalClient,
        NetworkClaims.Kinds.Expert => ExpertClient,
        NetworkClaims.Kinds.Person => principal.FindFirstValue(NetworkClaims.Role) ?? "",
        _ => "",
    };
}

/// <summary>
/// The network's authorization table: one declared policy per RPC. Enforced by
/// <see cref="RpcPolicyInterceptor"/>; an RPC missing here is refused (fail closed) and fails
/// the table test; <c>docs/authorization.md</c> is checked against <see cref="ToMarkdown"/>.
/// </summary>
public static class RpcPolicies
{
    private static readonly string[] Experts = [CallerRoles.ExpertClient, NetworkClaims.Roles.ExpertPathologist];
    private static readonly string[] LocalUsers = [CallerRoles.LocalClient, NetworkClaims.Roles.Pathologist, NetworkClaims.Roles.ReferralCoordinator];
    private static readonly string[] DataManagers = [NetworkClaims.Roles.RegistryDataManager];
    // Who acts on referrals addressed to the facility: its referral coordinators, and automation with the facility's client.
    private static readonly string[] Coordinators = [CallerRoles.LocalClient, NetworkClaims.Roles.ReferralCoordinator];
    // A core center's counsellors at its spoke (its hotline calls; the referrals they make), and automation with the facility's client.
    private static readonly string[] Counsellors = [CallerRoles.LocalClient, NetworkClaims.Roles.HotlineCounsellor];
    private static readonly string[] CentralCounsellors = [NetworkClaims.Roles.CentralHotlineCounsellor];
    private static readonly string[] DirectoryReaders =
        [CallerRoles.SpokeNode, CallerRoles.ExpertClient, NetworkClaims.Roles.ExpertPathologist, NetworkClaims.Roles.Statistician, NetworkClaims.Roles.Administrator,
            NetworkClaims.Roles.CentralHotlineCounsellor];

    public static readonly IReadOnlyDictionary<string, RpcPolicy> Hub = Build(
    [
        Policy(DirectoryService.Descriptor, "ListFacilities", DirectoryReaders, NetworkClaims.Scopes.Directory, InstitutionRule.None, false),
        Policy(DirectoryService.Descriptor, "GetFacility", DirectoryReaders, NetworkClaims.Scopes.Directory, InstitutionRule.None, false),
        Policy(DirectoryService.Descriptor, "ListPrefectures", DirectoryReaders, NetworkClaims.Scopes.Directory, InstitutionRule.None, false),
        Policy(DirectoryService.Descriptor, "ListTrials", DirectoryReaders, NetworkClaims.Scopes.Directory, InstitutionRule.None, false),
        Policy(DirectoryService.Descriptor, "GetTrial", DirectoryReaders, NetworkClaims.Scopes.Directory, InstitutionRule.None, false),
        Policy(TrialMatchingService.Descriptor, "MatchNationalRegistryRecord", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(ExpertConsultationService.Descriptor, "ListAssignedConsultations", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "GetAssignedConsultation", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "SubmitReport", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "RequestInformation", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "DeclineConsultation", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "ListSecondReviews", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "ReviewReport", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(ExpertConsultationService.Descriptor, "DownloadAttachment", Experts, NetworkClaims.Scopes.Expert, InstitutionRule.AssignedExpert, true),
        Policy(SpokeSyncService.Descriptor, "DeliverConsultation", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "DeliverConsultations", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "DeliverConsultationWithdrawal", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "DeliverInformationAnswer", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "DeliverReportAcknowledgement", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "FetchConsultation", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "DeliverAttachment", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "GetAttachmentReceipt", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "SubscribeEvents", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(SpokeSyncService.Descriptor, "ForwardAuditEntries", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, false),
        Policy(SpokeSyncService.Descriptor, "PullDirectory", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.None, false),
        Policy(SpokeSyncService.Descriptor, "ListReportSigningKeys", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.None, false),
        // Writes the calling node's own row only (the request names no node).
        Policy(SpokeSyncService.Descriptor, "ReportSyncStatus", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.None, false),
        Policy(RegistrySyncService.Descriptor, "DeliverRegistryRecords", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(RegistrySyncService.Descriptor, "DeliverRegistryWithdrawal", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(ReferralSyncService.Descriptor, "DeliverReferral", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(ReferralSyncService.Descriptor, "DeliverReferralTransition", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(RegistrySyncService.Descriptor, "AnswerDataQuery", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(RegistryDataManagementService.Descriptor, "ListNationalRegistryRecords", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(RegistryDataManagementService.Descriptor, "GetNationalRegistryRecord", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(RegistryDataManagementService.Descriptor, "RaiseDataQuery", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(RegistryDataManagementService.Descriptor, "CancelDataQuery", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(RegistryDataManagementService.Descriptor, "ListDataQueries", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.RegistryDataQuality, true),
        Policy(RegistryDataManagementService.Descriptor, "CountOpenDataQueries", DataManagers, NetworkClaims.Scopes.Registry, InstitutionRule.None, false),
        Policy(RegistryAdministrationService.Descriptor, "ExportNationalRegistry", [NetworkClaims.Roles.Administrator], NetworkClaims.Scopes.Admin, InstitutionRule.National, true),
        // Aggregates only, protected before release; exact figures need the permission and are audited by the service.
        Policy(StatisticsService.Descriptor, "GetFigure", [NetworkClaims.Roles.Statistician], NetworkClaims.Scopes.Statistics, InstitutionRule.NationalAggregates, false),
        Policy(StatisticsService.Descriptor, "ExportFigure", [NetworkClaims.Roles.Statistician], NetworkClaims.Scopes.Statistics, InstitutionRule.NationalAggregates, false),
        // Counts of each spoke's queues, no patient data: the dashboard's sync panel.
        Policy(StatisticsService.Descriptor, "ListSpokeSyncStatus", [NetworkClaims.Roles.Statistician], NetworkClaims.Scopes.Statistics, InstitutionRule.None, false),
        Policy(AuditService.Descriptor, "GetAccessStatistics", [NetworkClaims.Roles.Administrator], NetworkClaims.Scopes.Admin, InstitutionRule.None, false),
        Policy(HotlineSyncService.Descriptor, "DeliverHotlineCall", [CallerRoles.SpokeNode], NetworkClaims.Scopes.Sync, InstitutionRule.OwnNode, true),
        Policy(HotlineService.Descriptor, "RecordHotlineCall", CentralCounsellors, NetworkClaims.Scopes.Hotline, InstitutionRule.OwnCentre, true),
        Policy(HotlineService.Descriptor, "AmendHotlineCall", CentralCounsellors, NetworkClaims.Scopes.Hotline, InstitutionRule.OwnCentre, true),
        Policy(HotlineService.Descriptor, "GetHotlineCall", CentralCounsellors, NetworkClaims.Scopes.Hotline, InstitutionRule.OwnCentre, true),
        Policy(HotlineService.Descriptor, "SearchHotlineCalls", CentralCounsellors, NetworkClaims.Scopes.Hotline, InstitutionRule.OwnCentre, true),
        Policy(HotlineService.Descriptor, "SuggestFacilities", CentralCounsellors, NetworkClaims.Scopes.Hotline, InstitutionRule.None, false),
        // The public facility finder: anyone, no token; public directory data only.
        Policy(PublicDirectoryService.Descriptor, "FindFacilities", [CallerRoles.Public], "", InstitutionRule.PublicDirectory, false),
    ]);

    public static readonly IReadOnlyDictionary<string, RpcPolicy> Spoke = Build(
    [
        Policy(LocalConsultationService.Descriptor, "SubmitConsultation", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "ListConsultations", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "GetConsultation", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "WithdrawConsultation", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "AcknowledgeReport", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "AnswerInformationRequest", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "UploadAttachment", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalConsultationService.Descriptor, "GetAttachmentUpload", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "CreateRegistryRecord", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "UpdateRegistryRecord", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "GetRegistryRecord", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ListRegistryRecords", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ListRegistryRecordVersions", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ResolveRegistryConflict", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "WithdrawRegistryConsent", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ImportRegistryRecords", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ExportRegistryRecords", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ListLocalDataQueries", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalRegistryService.Descriptor, "ConfirmDataQueryValue", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "CreateReferral", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "ReferFromTrialMatch", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "ListReferrals", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "GetReferral", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "ActOnIncomingReferral", Coordinators, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalReferralService.Descriptor, "CancelReferral", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalDirectoryService.Descriptor, "SearchFacilities", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.None, false),
        Policy(LocalDirectoryService.Descriptor, "ListDirectoryExperts", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.None, false),
        Policy(LocalDirectoryService.Descriptor, "ListLocalTrials", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.None, false),
        Policy(LocalDirectoryService.Descriptor, "MatchRegistryRecord", LocalUsers, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalHotlineService.Descriptor, "RecordLocalHotlineCall", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalHotlineService.Descriptor, "AmendLocalHotlineCall", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalHotlineService.Descriptor, "GetLocalHotlineCall", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalHotlineService.Descriptor, "SearchLocalHotlineCalls", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
        Policy(LocalHotlineService.Descriptor, "SuggestLocalFacilities", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.None, false),
        Policy(LocalHotlineService.Descriptor, "ReferFromHotlineCall", Counsellors, NetworkClaims.Scopes.Local, InstitutionRule.ThisSpoke, true),
    ]);

    /// <summary>Services whose RPCs are exempt from the table: gRPC health (anonymous) and reflection (schema only).</summary>
    public static bool IsInfrastructure(string method) =>
        method.StartsWith("/grpc.health.v1.", StringComparison.Ordinal) || method.StartsWith("/grpc.reflection.", StringComparison.Ordinal);

    /// <summary>The table as it appears in docs/authorization.md.</summary>
    public static string ToMarkdown()
    {
        var lines = new List<string>
        {
            "| node | RPC | who may call | scope | institution rule | patient-level |",
            "|---|---|---|---|---|---|",
        };
        foreach (var (node, table) in new[] { ("hub", Hub), ("spoke", Spoke) })
        {
            foreach (var policy in table.Values)
            {
                lines.Add($"| {node} | `{policy.Method}` | {string.Join(", ", policy.Callers.Select(c => $"`{c}`"))} | {(policy.Scope.Length == 0 ? "none" : $"`{policy.Scope}`")} | {Describe(policy.Institution)} | {(policy.PatientLevel ? "yes" : "no")} |");
            }
        }
        return string.Join('\n', lines);
    }

    private static string Describe(InstitutionRule rule) => rule switch
    {
        InstitutionRule.None => "none (no patient data)",
        InstitutionRule.OwnNode => "own node's records and feed only",
        InstitutionRule.AssignedExpert => "consultations assigned to the caller (or sent to the caller for second review) only",
        InstitutionRule.ThisSpoke => "this spoke's node and facility only",
        InstitutionRule.National => "the national registry, records with secondary-use consent only",
        InstitutionRule.NationalAggregates => "the whole network as aggregates only: records consent allows, small cells suppressed (exact figures with the permission, audited)",
        InstitutionRule.RegistryDataQuality => "the national registry's records and their data queries (no local patient ids)",
        InstitutionRule.OwnCentre => "the hotline calls of the caller's own centre only",
        InstitutionRule.PublicDirectory => "the directory's public part only (no sign-in)",
        _ => rule.ToString(),
    };

    private static RpcPolicy Policy(ServiceDescriptor service, string method, string[] callers, string scope, InstitutionRule institution, bool patientLevel) =>
        new($"/{service.FullName}/{service.FindMethodByName(method)?.Name ?? throw new InvalidOperationException($"{service.FullName} has no RPC {method}.")}",
            callers, scope, institution, patientLevel);

    private static Dictionary<string, RpcPolicy> Build(RpcPolicy[] policies) => policies.ToDictionary(p => p.Method, StringComparer.Ordinal);
}
