using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Walks the whole authorization table: every RPC × every caller role × own / other institution,
/// against running nodes with real tokens (people signed in through the device flow). The expected
/// status of each cell follows from the declared policy and the token's audience.
/// </summary>
[Collection("matrix")]
public sealed class AuthorizationMatrixTests(AuthorizationMatrixTests.Network network)
{
    /// <summary>What a cell must give.</summary>
    public enum Outcome
    {
        Ok,
        OkWithoutOwnData,
        PermissionDenied,
        Unauthenticated,
    }

    [Fact]
    public async Task EveryRpc_EveryRole_OwnAndOtherInstitution_GivesTheDeclaredStatus()
    {
        var failures = new List<string>();
        var cells = 0;
        foreach (var (node, table) in new[] { ("hub", RpcPolicies.Hub), ("spoke", RpcPolicies.Spoke) })
        {
            foreach (var policy in table.Values)
            {
                var call = network.Calls[policy.Method];
                foreach (var role in CallerRoles.All)
                {
                    foreach (var own in new[] { true, false })
                    {
                        cells++;
                        var expected = Expected(node, policy, role, own, call.IsListing);
                        var actual = await ObserveAsync(() => call.Invoke(network.Token(role, own)));
                        if (actual != expected)
                        {
                            failures.Add($"{policy.Method} as {role} ({(own ? "own" : "other")} institution): expected {expected}, got {actual}");
                        }
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cells} cells wrong:\n" + string.Join('\n', failures));
        Assert.Equal((RpcPolicies.Hub.Count + RpcPolicies.Spoke.Count) * CallerRoles.All.Count * 2, cells);
    }

    private static Outcome Expected(string node, RpcPolicy policy, string role, bool own, bool isListing)
    {
        if (policy.Callers.Contains(CallerRoles.Public))
        {
            // Public data: no token needed, and none (of whatever audience) changes the answer.
            return Outcome.Ok;
        }
        var spokeAudience = role is CallerRoles.LocalClient or NetworkClaims.Roles.Pathologist or NetworkClaims.Roles.ReferralCoordinator
            or NetworkClaims.Roles.HotlineCounsellor;
        // A token names one API: hub tokens are refused by spokes, and spoke B's tokens by spoke A.
        var audienceMatches = node == "hub" ? !spokeAudience : spokeAudience && own;
        if (!audienceMatches)
        {
            return Outcome.Unauthenticated;
        }
        if (!policy.Callers.Contains(role))
        {
            return Outcome.PermissionDenied;
        }
        if (own || policy.Institution is InstitutionRule.None or InstitutionRule.National or InstitutionRule.NationalAggregates or InstitutionRule.RegistryDataQuality)
        {
            return Outcome.Ok;
        }
        return isListing ? Outcome.OkWithoutOwnData : Outcome.PermissionDenied;
    }

    private static async Task<Outcome> ObserveAsync(Func<Task<bool>> invoke)
    {
        try
        {
            return await invoke() ? Outcome.Ok : Outcome.OkWithoutOwnData;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
        {
            return Outcome.PermissionDenied;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            return Outcome.Unauthenticated;
        }
    }

    /// <summary>
    /// Sends a client stream of one message and reads its answer. A server that refuses the call ends it at once, and a write
    /// racing that end fails as cancelled: the call's status, which says why, is in the response.
    /// </summary>
    private static async Task<TResponse> SendAsync<TRequest, TResponse>(AsyncClientStreamingCall<TRequest, TResponse> call, TRequest message)
    {
        try
        {
            await call.RequestStream.WriteAsync(message);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // Read below: the response carries the status the server ended the call with.
        }
        return await call.ResponseAsync;
    }

    /// <summary>An RPC invoked with a valid request about the "own" institution's data; returns whether that data was seen.</summary>
    public sealed record Call(Func<string, Task<bool>> Invoke, bool IsListing = false);

    /// <summary>
    /// Hub; spoke A (CORE-004) and spoke B (CORE-001); expert 1 (soft tissue) holding consultation C
    /// from spoke A; expert 2 (bone); and one token per role for the own and the other institution.
    /// </summary>
    public sealed class Network : IAsyncLifetime
    {
        private readonly TempFolder _folder = new("rcn-matrix");
        private readonly Dictionary<(string Role, bool Own), string> _tokens = [];
        private readonly Dictionary<string, System.Security.Cryptography.X509Certificates.X509Certificate2> _certificates = [];
        private HubNode _hub = null!;
        private SpokeNode _spokeA = null!;
        private SpokeNode _spokeB = null!;
        private string _consultationC = "";
        private string _recordR = "";
        private string _queryQ = "";
        private string _queryQ2 = "";
        private const string ExampleTrial = "jRCT2031990101";
        private string _referralF = "";
        private string _hotlineH = "";
        private string _hotlineHC = "";
        private string _consultationS = "";
        // Consultation P: spoke A's, with a slide whole at the spoke and the hub, assigned to expert 1.
        private string _consultationP = "";
        private AttachmentDescriptor _slideP = null!;

        private async Task<string> RaiseOnRAsync() => (await DataManagement(Token(NetworkClaims.Roles.RegistryDataManager, true)).RaiseDataQueryAsync(new()
        {
            QueryId = Guid.CreateVersion7().ToString(), RecordId = _recordR, Field = "ecog", Question = "ECOG を確認してください",
        })).Query.QueryId;

        public Dictionary<string, Call> Calls { get; } = [];

        public string Token(string role, bool own) => _tokens[(role, own)];

        public async ValueTask InitializeAsync()
        {
            _hub = await HubNode.StartAsync(_folder.Sub("hub"));
            var nodeA = await _hub.RegisterSpokeAsync("spoke-a", "CORE-004", _folder.Sub("spoke-a"));
            var nodeB = await _hub.RegisterSpokeAsync("spoke-b", "CORE-001", _folder.Sub("spoke-b"));
            var localA = await _hub.RegisterLocalClientAsync("spoke-a", "automation");
            var localB = await _hub.RegisterLocalClientAsync("spoke-b", "automation");
            var expert1 = await _hub.RegisterExpertAsync("expert-1", "専門医一", 1000, OrganSystem.SoftTissue);
            var expert2 = await _hub.RegisterExpertAsync("expert-2", "専門医二", 1000, OrganSystem.Bone);
            await _hub.LoadExampleTrialsAsync();
            _spokeA = await SpokeNode.StartAsync(_folder.Sub("spoke-a"), _hub.Url, _hub.CaPath, "spoke-a", "CORE-004", nodeA);
            _spokeB = await SpokeNode.StartAsync(_folder.Sub("spoke-b"), _hub.Url, _hub.CaPath, "spoke-b", "CORE-001", nodeB);

            async Task<string> Client(Hub.Identity.IssuedCredentials credentials, params string[] scopes) => await Clients.TokenAsync(_hub.Url, _hub.CaPath, credentials, scopes);
            _tokens[(CallerRoles.SpokeNode, true)] = await Clients.TokenAsync(_hub.Url, _hub.CaPath, nodeA, NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory);
            _tokens[(CallerRoles.SpokeNode, false)] = await Clients.TokenAsync(_hub.Url, _hub.CaPath, nodeB, NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory);
            // A node's token is bound to its certificate, so channels carrying it present that certificate.
            _certificates[_tokens[(CallerRoles.SpokeNode, true)]] = nodeA.Certificate;
            _certificates[_tokens[(CallerRoles.SpokeNode, false)]] = nodeB.Certificate;
            _tokens[(CallerRoles.LocalClient, true)] = await Client(localA, NetworkClaims.Scopes.Local);
            _tokens[(CallerRoles.LocalClient, false)] = await Client(localB, NetworkClaims.Scopes.Local);
            _tokens[(CallerRoles.ExpertClient, true)] = await Client(expert1, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory);
            _tokens[(CallerRoles.ExpertClient, false)] = await Client(expert2, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory);

            // People sign in concurrently: each device flow waits out the server's polling interval.
            var people = new (string Role, bool Own, string UserId, string Facility, string? ExpertId)[]
            {
                (NetworkClaims.Roles.Pathologist, true, "path-a", "CORE-004", null),
                (NetworkClaims.Roles.Pathologist, false, "path-b", "CORE-001", null),
                (NetworkClaims.Roles.ReferralCoordinator, true, "coord-a", "CORE-004", null),
                (NetworkClaims.Roles.ReferralCoordinator, false, "coord-b", "CORE-001", null),
                (NetworkClaims.Roles.ExpertPathologist, true, "expert-person-1", "CORE-004", "expert-1"),
                (NetworkClaims.Roles.ExpertPathologist, false, "expert-person-2", "CORE-001", "expert-2"),
                (NetworkClaims.Roles.Statistician, true, "stat-a", "CORE-004", null),
                (NetworkClaims.Roles.Statistician, false, "stat-b", "CORE-001", null),
                (NetworkClaims.Roles.Administrator, true, "admin-a", "CORE-004", null),
                (NetworkClaims.Roles.Administrator, false, "admin-b", "CORE-001", null),
                (NetworkClaims.Roles.RegistryDataManager, true, "dm-a", "CORE-004", null),
                (NetworkClaims.Roles.RegistryDataManager, false, "dm-b", "CORE-001", null),
                (NetworkClaims.Roles.HotlineCounsellor, true, "hotline-a", "CORE-004", null),
                (NetworkClaims.Roles.HotlineCounsellor, false, "hotline-b", "CORE-001", null),
                (NetworkClaims.Roles.CentralHotlineCounsellor, true, "central-hotline-a", "CORE-011", null),
                (NetworkClaims.Roles.CentralHotlineCounsellor, false, "central-hotline-b", "CORE-010", null),
            };
            var signIns = people.Select(async p => (p.Role, p.Own, Token: await People.AddAndSignInAsync(_hub, _folder.Path, p.UserId, p.Role, p.Facility, p.ExpertId)));
            foreach (var (role, own, token) in await Task.WhenAll(signIns))
            {
                _tokens[(role, own)] = token;
            }

            // Consultation C: spoke A's first, assigned to expert 1. Spoke B gets one too, so its feed is not empty.
            var local = LocalA(Token(CallerRoles.LocalClient, true));
            var submission = Samples.Submission();
            _consultationC = submission.ConsultationId;
            await local.SubmitConsultationAsync(submission);
            await Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = _consultationC })).Consultation,
                c => c.Status == ConsultationStatus.Assigned, "consultation C assigned");
            // Consultation S: a third soft-tissue expert's (capacity 1, so later soft-tissue cases still go to expert 1), held for expert 1's second review.
            var expert3 = await _hub.RegisterExpertAsync("expert-3", "専門医三", 1, OrganSystem.SoftTissue);
            var held = Samples.Submission();
            _consultationS = held.ConsultationId;
            await local.SubmitConsultationAsync(held);
            await Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = _consultationS })).Consultation,
                c => c.Status == ConsultationStatus.Assigned, "consultation S assigned");
            var major = Samples.Report(_consultationS);
            major.Concordance = Concordance.MajorDiscordance;
            major.RequestSecondReview = true;
            var heldReport = await Expert(await Client(expert3, NetworkClaims.Scopes.Expert)).SubmitReportAsync(major);
            Assert.Equal("expert-1", heldReport.ReviewerExpertId);
            var (slidePath, slide) = await AttachmentFiles.RandomAsync(_folder.Sub("files"), 1_500_000, "matrix.svs");
            var withSlide = Samples.Submission();
            withSlide.Details.Attachments.Add(slide);
            (_consultationP, _slideP) = (withSlide.ConsultationId, slide);
            await local.SubmitConsultationAsync(withSlide);
            await AttachmentFiles.UploadAsync(local, _consultationP, slidePath, slide);
            await Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = _consultationP })).Consultation,
                c => c.Status == ConsultationStatus.Assigned, "consultation P assigned once its slide arrived");
            var localB2 = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(_spokeB.Url, _spokeB.CaPath, Token(CallerRoles.LocalClient, false)));
            var atB = Samples.Submission(organ: OrganSystem.Bone);
            await localB2.SubmitConsultationAsync(atB);
            await Eventually.UntilAsync(async () => (await localB2.GetConsultationAsync(new() { ConsultationId = atB.ConsultationId })).Consultation,
                c => c.Status == ConsultationStatus.Assigned, "spoke B's consultation assigned");
            // Registry record R: spoke A's, at the hub.
            var registryA = RegistryA(Token(CallerRoles.LocalClient, true));
            var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record("CORE-004");
            _recordR = record.RecordId;
            await registryA.CreateRegistryRecordAsync(new() { LocalPatientId = "MATRIX-R", Record = record });
            await Eventually.UntilAsync(async () => (await registryA.GetRegistryRecordAsync(new() { RecordId = _recordR })).Record,
                r => r.SyncState == RegistrySyncState.Synchronised, "record R at the hub");
            // Data queries Q (stays open) and Q2 (confirmed by the spoke's cells) on R, seen at spoke A.
            _queryQ = await RaiseOnRAsync();
            _queryQ2 = await RaiseOnRAsync();
            await Eventually.UntilAsync(async () => (await registryA.ListLocalDataQueriesAsync(new() { RecordId = _recordR })).Queries.Count,
                count => count == 2, "queries Q and Q2 at spoke A");
            // Referral F: spoke A's, to a Tokyo hospital its own spoke serves, so that A both sends and receives it.
            _referralF = (await ReferralsA(Token(CallerRoles.LocalClient, true)).CreateReferralAsync(NewReferral())).Referral.Referral.ReferralId;
            await Eventually.UntilAsync(async () => (await ReferralsA(Token(CallerRoles.LocalClient, true)).GetReferralAsync(new() { ReferralId = _referralF })).Referral,
                r => r.AddressedHere, "referral F routed back to spoke A");
            // Hotline call H at spoke A, and HC at the hub's central hotline (centre CORE-011).
            _hotlineH = (await HotlineA(Token(CallerRoles.LocalClient, true)).RecordLocalHotlineCallAsync(
                new() { CallId = Guid.CreateVersion7().ToString(), Entry = HotlineEntry() })).Call.Call.CallId;
            _hotlineHC = (await Hotline(Token(NetworkClaims.Roles.CentralHotlineCounsellor, true)).RecordHotlineCallAsync(
                new() { CallId = Guid.CreateVersion7().ToString(), Entry = HotlineEntry() })).Call.CallId;
            DeclareCalls();
        }

        private static HotlineCallEntry HotlineEntry() => new()
        {
            StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)), DurationMinutes = 10,
            Channel = HotlineChannel.Phone, CallerRelation = CallerRelation.Patient, PatientAgeBand = AgeBand.NotTold, CancerCategory = OrganSystem.SoftTissue,
            Topics = { HotlineTopic.SecondOpinion }, Notes = "セカンドオピニオンの相談", Outcomes = { HotlineOutcome.InformationGiven },
        };

        private void DeclareHotlineCalls()
        {
            var h = _hotlineH;
            var hc = _hotlineHC;
            Calls["/rarecancer.network.v1.HotlineSyncService/DeliverHotlineCall"] = new(async t =>
            {
                var call = Node.Hotline.HotlineCalls.ForHub(Node.Hotline.HotlineCalls.Create(Guid.CreateVersion7().ToString(), "CORE-004", "matrix", HotlineEntry(), DateTimeOffset.UtcNow));
                return !(await new HotlineSyncService.HotlineSyncServiceClient(HubChannel(t)).DeliverHotlineCallAsync(new() { Call = call })).Duplicate;
            });
            // A counsellor records for their own centre: another centre's counsellor records a call of theirs, not of CORE-011.
            Calls["/rarecancer.network.v1.HotlineService/RecordHotlineCall"] = new(async t =>
                (await Hotline(t).RecordHotlineCallAsync(new() { CallId = Guid.CreateVersion7().ToString(), Entry = HotlineEntry() })).Call.CentreFacilityCode == "CORE-011",
                IsListing: true);
            Calls["/rarecancer.network.v1.HotlineService/AmendHotlineCall"] = new(async t =>
            {
                var current = (await Hotline(Token(NetworkClaims.Roles.CentralHotlineCounsellor, true)).GetHotlineCallAsync(new() { CallId = hc })).Call.Revision;
                return (await Hotline(t).AmendHotlineCallAsync(new() { CallId = hc, ExpectedRevision = current, Entry = HotlineEntry() })).Call.CallId == hc;
            });
            Calls["/rarecancer.network.v1.HotlineService/GetHotlineCall"] = new(async t => (await Hotline(t).GetHotlineCallAsync(new() { CallId = hc })).Call.CallId == hc);
            Calls["/rarecancer.network.v1.HotlineService/SearchHotlineCalls"] = new(
                async t => (await Hotline(t).SearchHotlineCallsAsync(new() { PageSize = 200 })).Calls.Any(x => x.CallId == hc), IsListing: true);
            Calls["/rarecancer.network.v1.HotlineService/SuggestFacilities"] = new(
                async t => (await Hotline(t).SuggestFacilitiesAsync(new() { OrganSystem = OrganSystem.SoftTissue })).Suggestions is not null);
            Calls["/rarecancer.network.v1.PublicDirectoryService/FindFacilities"] = new(
                async t => (await new PublicDirectoryService.PublicDirectoryServiceClient(HubChannel(t)).FindFacilitiesAsync(new())).Facilities.Count > 0);
            Calls["/rarecancer.network.v1.LocalHotlineService/RecordLocalHotlineCall"] = new(
                async t => !(await HotlineA(t).RecordLocalHotlineCallAsync(new() { CallId = Guid.CreateVersion7().ToString(), Entry = HotlineEntry() })).Duplicate);
            Calls["/rarecancer.network.v1.LocalHotlineService/AmendLocalHotlineCall"] = new(async t =>
            {
                var current = (await HotlineA(Token(CallerRoles.LocalClient, true)).GetLocalHotlineCallAsync(new() { CallId = h })).Call.Call.Revision;
                return (await HotlineA(t).AmendLocalHotlineCallAsync(new() { CallId = h, ExpectedRevision = current, Entry = HotlineEntry() })).Call.Call.CallId == h;
            });
            Calls["/rarecancer.network.v1.LocalHotlineService/GetLocalHotlineCall"] = new(
                async t => (await HotlineA(t).GetLocalHotlineCallAsync(new() { CallId = h })).Call.Call.CallId == h);
            Calls["/rarecancer.network.v1.LocalHotlineService/SearchLocalHotlineCalls"] = new(
                async t => (await HotlineA(t).SearchLocalHotlineCallsAsync(new() { Query = new() { PageSize = 200 } })).Calls.Any(x => x.Call.CallId == h), IsListing: true);
            Calls["/rarecancer.network.v1.LocalHotlineService/SuggestLocalFacilities"] = new(
                async t => (await HotlineA(t).SuggestLocalFacilitiesAsync(new() { Query = new() { OrganSystem = OrganSystem.SoftTissue } })).Suggestions is not null);
            Calls["/rarecancer.network.v1.LocalHotlineService/ReferFromHotlineCall"] = new(async t =>
            {
                var fresh = (await HotlineA(Token(CallerRoles.LocalClient, true)).RecordLocalHotlineCallAsync(
                    new() { CallId = Guid.CreateVersion7().ToString(), Entry = HotlineEntry() })).Call.Call.CallId;
                return (await HotlineA(t).ReferFromHotlineCallAsync(new()
                {
                    CallId = fresh, ExpectedRevision = 1, ReferralId = Guid.CreateVersion7().ToString(), FacilityCode = "CORE-011", LocalPatientId = "MATRIX-HOTLINE",
                    Reason = "ホットラインから紹介", Urgency = Urgency.Routine,
                })).Call.Call.CallId == fresh;
            });
        }

        private static CreateReferralRequest NewReferral() => new()
        {
            ReferralId = Guid.CreateVersion7().ToString(), Target = new ReferralTarget { FacilityCode = "CORE-011" }, LocalPatientId = "MATRIX-REF",
            Reason = "専門施設での評価", Urgency = Urgency.Routine,
        };

        private void DeclareCalls()
        {
            DeclareHotlineCalls();
            var c = _consultationC;
            Calls["/rarecancer.network.v1.DirectoryService/ListFacilities"] = new(async t => (await Directory(t).ListFacilitiesAsync(new() { PageSize = 5 })).Facilities.Count > 0);
            Calls["/rarecancer.network.v1.DirectoryService/GetFacility"] = new(async t => (await Directory(t).GetFacilityAsync(new() { FacilityCode = "CORE-001" })).Facility is not null);
            Calls["/rarecancer.network.v1.DirectoryService/ListPrefectures"] = new(async t => (await Directory(t).ListPrefecturesAsync(new())).Prefectures.Count == 47);
            Calls["/rarecancer.network.v1.ExpertConsultationService/ListAssignedConsultations"] = new(
                async t => (await Expert(t).ListAssignedConsultationsAsync(new() { PageSize = 200 })).Consultations.Any(x => x.ConsultationId == c), IsListing: true);
            Calls["/rarecancer.network.v1.ExpertConsultationService/GetAssignedConsultation"] = new(
                async t => (await Expert(t).GetAssignedConsultationAsync(new() { ConsultationId = c })).Consultation.ConsultationId == c);
            Calls["/rarecancer.network.v1.ExpertConsultationService/SubmitReport"] = new(async t =>
            {
                var latest = (await Expert(Token(CallerRoles.ExpertClient, true)).GetAssignedConsultationAsync(new() { ConsultationId = c })).Consultation.Reports.Count;
                var request = Samples.Report(c, replacesVersion: latest);
                request.AmendmentReason = "matrix";
                return (await Expert(t).SubmitReportAsync(request)).Report.ConsultationId == c;
            });
            Calls["/rarecancer.network.v1.ExpertConsultationService/RequestInformation"] = new(async t =>
            {
                // C is reported by the time some cells run: past authorization, "not assigned any more" is an answer about C too.
                try
                {
                    return (await Expert(t).RequestInformationAsync(new() { ConsultationId = c, RequestId = Guid.CreateVersion7().ToString(), Question = "追加染色" })).Request.Question.Length > 0;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.ExpertConsultationService/DeclineConsultation"] = new(async t =>
            {
                // A fresh soft-tissue case, which goes to expert 1 (the only one): declined by expert 1, refused to expert 2.
                var fresh = Samples.Submission();
                await LocalA(Token(CallerRoles.LocalClient, true)).SubmitConsultationAsync(fresh);
                await Eventually.UntilAsync(async () => (await LocalA(Token(CallerRoles.LocalClient, true)).GetConsultationAsync(new() { ConsultationId = fresh.ConsultationId })).Consultation,
                    x => x.Status == ConsultationStatus.Assigned, "the fresh case assigned");
                await Expert(t).DeclineConsultationAsync(new() { ConsultationId = fresh.ConsultationId, Reason = DeclineReason.ConflictOfInterest });
                return true;
            });
            Calls["/rarecancer.network.v1.ExpertConsultationService/ListSecondReviews"] = new(
                async t => (await Expert(t).ListSecondReviewsAsync(new())).Consultations.Any(x => x.ConsultationId == _consultationS), IsListing: true);
            Calls["/rarecancer.network.v1.ExpertConsultationService/ReviewReport"] = new(async t =>
            {
                // The first reviewer past authorization releases S; the next is told it is decided (FAILED_PRECONDITION).
                try
                {
                    return (await Expert(t).ReviewReportAsync(new() { ConsultationId = _consultationS, Approve = true })).Status == ConsultationStatus.Reported;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverInformationAnswer"] = new(async t =>
            {
                // No request is open on C: its own node is told which request it does not know; another node is refused first.
                try
                {
                    await Sync(t).DeliverInformationAnswerAsync(new()
                    {
                        ConsultationId = c, RequestId = Guid.CreateVersion7().ToString(), Answer = "回答", AnsweredBy = "matrix",
                        AnsweredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    });
                    return true;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && e.Status.Detail.Contains("Information request", StringComparison.Ordinal))
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverConsultation"] = new(async t =>
            {
                var delivery = Samples.Delivery("CORE-004", 'd');
                return !(await Sync(t).DeliverConsultationAsync(delivery)).Duplicate;
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverConsultations"] = new(async t =>
            {
                var delivery = Samples.Delivery("CORE-004", 'd');
                return (await Sync(t).DeliverConsultationsAsync(new() { Consultations = { delivery } })).Results.Single().Outcome == ConsultationDeliveryOutcome.Stored;
            });
            var p = _consultationP;
            var slideStart = new AttachmentUploadStart { ConsultationId = p, Sha256Hex = _slideP.Sha256Hex, Offset = _slideP.SizeBytes };
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverAttachment"] = new(async t =>
            {
                // The hub holds P's slide whole: its own node is told so at once; another node is refused.
                using var call = Sync(t).DeliverAttachment();
                return (await SendAsync(call, new() { Start = slideStart })).Complete;
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/GetAttachmentReceipt"] = new(async t =>
                (await Sync(t).GetAttachmentReceiptAsync(new() { ConsultationId = p, Sha256Hex = _slideP.Sha256Hex })).ReceivedBytes == _slideP.SizeBytes);
            Calls["/rarecancer.network.v1.ExpertConsultationService/DownloadAttachment"] = new(async t =>
            {
                using var call = Expert(t).DownloadAttachment(new() { ConsultationId = p, Sha256Hex = _slideP.Sha256Hex });
                long bytes = 0;
                while (await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
                {
                    bytes += call.ResponseStream.Current.Chunk.Data.Length;
                }
                return bytes == _slideP.SizeBytes;
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/UploadAttachment"] = new(async t =>
            {
                using var call = LocalA(t).UploadAttachment();
                return (await SendAsync(call, new() { Start = slideStart })).Attachment.SpokeReceivedBytes == _slideP.SizeBytes;
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/GetAttachmentUpload"] = new(async t =>
                (await LocalA(t).GetAttachmentUploadAsync(new() { ConsultationId = p, Sha256Hex = _slideP.Sha256Hex })).Attachment.Available);
            Calls["/rarecancer.network.v1.SpokeSyncService/FetchConsultation"] = new(async t => (await Sync(t).FetchConsultationAsync(new() { ConsultationId = c })).ConsultationId == c);
            Calls["/rarecancer.network.v1.SpokeSyncService/SubscribeEvents"] = new(async t =>
            {
                // The feed opens with directory announcements; the first consultation event tells whose feed it is.
                using var call = Sync(t).SubscribeEvents(new());
                while (await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
                {
                    if (call.ResponseStream.Current.ConsultationId.Length > 0)
                    {
                        return call.ResponseStream.Current.ConsultationId == c;
                    }
                }
                return false;
            }, IsListing: true);
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverConsultationWithdrawal"] = new(async t =>
            {
                // A fresh consultation of spoke A's at the hub, withdrawn by its own node; refused to another.
                var delivery = Samples.Delivery("CORE-004", 'e');
                await Sync(Token(CallerRoles.SpokeNode, true)).DeliverConsultationAsync(delivery);
                return (await Sync(t).DeliverConsultationWithdrawalAsync(new()
                {
                    ConsultationId = delivery.ConsultationId, Reason = "取り下げ", WithdrawnBy = "matrix",
                    WithdrawnAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                })).Status == ConsultationStatus.Withdrawn;
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/DeliverReportAcknowledgement"] = new(async t =>
            {
                // C may or may not be reported yet when this cell runs: past authorization, either answer will do.
                try
                {
                    return (await Sync(t).DeliverReportAcknowledgementAsync(new()
                    {
                        ConsultationId = c, ReportVersion = 1, AcknowledgedBy = "matrix",
                        AcknowledgedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    })).Status == ConsultationStatus.Acknowledged;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.SpokeSyncService/ListReportSigningKeys"] = new(async t => (await Sync(t).ListReportSigningKeysAsync(new())).Keys.Count > 0);
            Calls["/rarecancer.network.v1.SpokeSyncService/PullDirectory"] = new(async t =>
                (await Sync(t).PullDirectoryAsync(new())).Entries.Any(e => e.Trial?.TrialId == ExampleTrial));
            Calls["/rarecancer.network.v1.DirectoryService/ListTrials"] = new(async t => (await Directory(t).ListTrialsAsync(new())).Trials.Any(x => x.TrialId == ExampleTrial));
            Calls["/rarecancer.network.v1.DirectoryService/GetTrial"] = new(async t => (await Directory(t).GetTrialAsync(new() { TrialId = ExampleTrial })).Trial.Arms.Count > 0);
            Calls["/rarecancer.network.v1.TrialMatchingService/MatchNationalRegistryRecord"] = new(async t =>
                (await new TrialMatchingService.TrialMatchingServiceClient(HubChannel(t)).MatchNationalRegistryRecordAsync(new() { RecordId = _recordR })).Result.RecordId == _recordR);
            Calls["/rarecancer.network.v1.SpokeSyncService/ReportSyncStatus"] = new(async t =>
                (await Sync(t).ReportSyncStatusAsync(new() { OutboxPending = 0 })).ReceivedAt is not null);
            Calls["/rarecancer.network.v1.StatisticsService/ListSpokeSyncStatus"] = new(async t =>
                (await new StatisticsService.StatisticsServiceClient(HubChannel(t)).ListSpokeSyncStatusAsync(new())).Spokes.Any(s => s.NodeId == "spoke-a"));
            Calls["/rarecancer.network.v1.SpokeSyncService/ForwardAuditEntries"] = new(async t =>
            {
                // Re-forwarding spoke A's first entry is idempotent for A, and refused for anyone else.
                var first = (await _spokeA.Services.GetRequiredService<AuditLog>().ReadAsync(0, 1, CancellationToken.None))[0];
                return (await Sync(t).ForwardAuditEntriesAsync(new() { Entries = { first } })).StoredThroughSequence >= 1;
            });
            // Aggregates only: seeing "data" is receiving the figure's table (record R counted in it, released or not).
            Calls["/rarecancer.network.v1.StatisticsService/GetFigure"] = new(async t =>
                (await new StatisticsService.StatisticsServiceClient(HubChannel(t)).GetFigureAsync(new() { Query = new() { Figure = Figure.RegistryEnrolment } }))
                .Result.Tables.Count == 1);
            Calls["/rarecancer.network.v1.StatisticsService/ExportFigure"] = new(async t =>
                (await new StatisticsService.StatisticsServiceClient(HubChannel(t)).ExportFigureAsync(new() { Query = new() { Figure = Figure.RegistryEnrolment } }))
                .Content.Length > 0);
            Calls["/rarecancer.network.v1.AuditService/GetAccessStatistics"] = new(async t =>
                (await new AuditService.AuditServiceClient(HubChannel(t)).GetAccessStatisticsAsync(new()
                {
                    FromTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
                    ToTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
                })).Rows.Count > 0);
            var r = _recordR;
            Calls["/rarecancer.network.v1.RegistrySyncService/DeliverRegistryRecords"] = new(async t =>
                (await new RegistrySyncService.RegistrySyncServiceClient(HubChannel(t)).DeliverRegistryRecordsAsync(new()
                {
                    Records = { RareCancerNetwork.Tests.Shared.RegistrySamples.Record("CORE-004") },
                })).Results[0].Outcome == RegistryDeliveryOutcome.Stored);
            Calls["/rarecancer.network.v1.RegistrySyncService/DeliverRegistryWithdrawal"] = new(async t =>
            {
                // A record of spoke A's that only the hub holds: withdrawn by its own node, refused to another.
                var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record("CORE-004");
                var sync = new RegistrySyncService.RegistrySyncServiceClient(HubChannel(Token(CallerRoles.SpokeNode, true)));
                await sync.DeliverRegistryRecordsAsync(new() { Records = { record } });
                return (await new RegistrySyncService.RegistrySyncServiceClient(HubChannel(t)).DeliverRegistryWithdrawalAsync(new()
                {
                    RecordId = record.RecordId, WithdrawnOn = "2026-02-01", RecordedBy = "matrix", PatientPseudonym = record.PatientPseudonym,
                })).RecordDeleted;
            });
            Calls["/rarecancer.network.v1.LocalRegistryService/WithdrawRegistryConsent"] = new(async t =>
            {
                var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record();
                await RegistryA(Token(CallerRoles.LocalClient, true)).CreateRegistryRecordAsync(new() { LocalPatientId = $"MATRIX-W-{Guid.CreateVersion7():N}", Record = record });
                return (await RegistryA(t).WithdrawRegistryConsentAsync(new() { RecordId = record.RecordId, WithdrawnOn = "2026-02-01" })).RecordId == record.RecordId;
            });
            Calls["/rarecancer.network.v1.LocalRegistryService/ImportRegistryRecords"] = new(async t =>
                (await RegistryA(t).ImportRegistryRecordsAsync(new()
                {
                    Records = { new ImportedRecord { LocalPatientId = $"MATRIX-IMPORT-{Guid.CreateVersion7():N}", Record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record() } },
                })).Results[0].Outcome == ImportOutcome.Created);
            Calls["/rarecancer.network.v1.RegistryAdministrationService/ExportNationalRegistry"] = new(async t =>
                (await new RegistryAdministrationService.RegistryAdministrationServiceClient(HubChannel(t)).ExportNationalRegistryAsync(new() { PageSize = 200 }))
                    .FhirBundleJson.ToStringUtf8().Contains(_recordR, StringComparison.Ordinal));
            Calls["/rarecancer.network.v1.LocalRegistryService/ExportRegistryRecords"] = new(async t =>
                (await RegistryA(t).ExportRegistryRecordsAsync(new() { PageSize = 200 })).FhirBundleJson.ToStringUtf8().Contains(_recordR, StringComparison.Ordinal));
            Calls["/rarecancer.network.v1.LocalRegistryService/CreateRegistryRecord"] = new(async t =>
                !(await RegistryA(t).CreateRegistryRecordAsync(new() { LocalPatientId = $"MATRIX-NEW-{Guid.CreateVersion7():N}", Record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record() })).Duplicate);
            Calls["/rarecancer.network.v1.LocalRegistryService/UpdateRegistryRecord"] = new(async t =>
            {
                var latest = (await RegistryA(Token(CallerRoles.LocalClient, true)).GetRegistryRecordAsync(new() { RecordId = r })).Record.Record.Clone();
                latest.Version++;
                latest.FollowUp.LastContactDate = "2026-02-15";
                return (await RegistryA(t).UpdateRegistryRecordAsync(new() { Record = latest })).Record.Record.Version == latest.Version;
            });
            Calls["/rarecancer.network.v1.LocalRegistryService/GetRegistryRecord"] = new(async t =>
                (await RegistryA(t).GetRegistryRecordAsync(new() { RecordId = r })).Record.Record.RecordId == r);
            Calls["/rarecancer.network.v1.LocalRegistryService/ListRegistryRecords"] = new(
                async t => (await RegistryA(t).ListRegistryRecordsAsync(new() { PageSize = 200 })).Records.Any(x => x.Record.RecordId == r), IsListing: true);
            Calls["/rarecancer.network.v1.LocalRegistryService/ListRegistryRecordVersions"] = new(async t =>
                (await RegistryA(t).ListRegistryRecordVersionsAsync(new() { RecordId = r })).Versions.Count > 0);
            Calls["/rarecancer.network.v1.LocalRegistryService/ResolveRegistryConflict"] = new(async t =>
            {
                // R is not in conflict: a caller past authorization is told so (FAILED_PRECONDITION), which is all this cell asks.
                try
                {
                    await RegistryA(t).ResolveRegistryConflictAsync(new() { RecordId = r, Resolution = ConflictResolution.KeepSpoke, HubVersion = 1 });
                    return true;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.RegistryDataManagementService/ListNationalRegistryRecords"] = new(async t =>
                (await DataManagement(t).ListNationalRegistryRecordsAsync(new() { FacilityCode = "CORE-004", PageSize = 200 })).Records.Any(x => x.RecordId == r));
            Calls["/rarecancer.network.v1.RegistryDataManagementService/GetNationalRegistryRecord"] = new(async t =>
                (await DataManagement(t).GetNationalRegistryRecordAsync(new() { RecordId = r })).Queries.Any(q => q.QueryId == _queryQ));
            Calls["/rarecancer.network.v1.RegistryDataManagementService/RaiseDataQuery"] = new(async t =>
                !(await DataManagement(t).RaiseDataQueryAsync(new()
                {
                    QueryId = Guid.CreateVersion7().ToString(), RecordId = r, Field = "diagnosis.morphology_code", Question = "形態コードを確認してください",
                })).Duplicate);
            Calls["/rarecancer.network.v1.RegistryDataManagementService/CancelDataQuery"] = new(async t =>
            {
                var query = await RaiseOnRAsync();
                return (await DataManagement(t).CancelDataQueryAsync(new() { QueryId = query })).Query.Resolution == DataQueryResolution.Cancelled;
            });
            Calls["/rarecancer.network.v1.RegistryDataManagementService/ListDataQueries"] = new(async t =>
                (await DataManagement(t).ListDataQueriesAsync(new() { RecordId = r, PageSize = 200 })).Queries.Any(q => q.QueryId == _queryQ));
            Calls["/rarecancer.network.v1.RegistryDataManagementService/CountOpenDataQueries"] = new(async t =>
                (await DataManagement(t).CountOpenDataQueriesAsync(new())).Facilities.Any(f => f.FacilityCode == "CORE-004" && f.OpenQueries > 0));
            Calls["/rarecancer.network.v1.RegistrySyncService/AnswerDataQuery"] = new(async t =>
            {
                var query = await RaiseOnRAsync();
                return (await new RegistrySyncService.RegistrySyncServiceClient(HubChannel(t)).AnswerDataQueryAsync(new()
                {
                    QueryId = query, Comment = "正しい値です", AnsweredBy = "matrix",
                })).Query.Resolution == DataQueryResolution.Confirmed;
            });
            Calls["/rarecancer.network.v1.LocalRegistryService/ListLocalDataQueries"] = new(
                async t => (await RegistryA(t).ListLocalDataQueriesAsync(new() { PageSize = 200 })).Queries.Any(q => q.Query.QueryId == _queryQ), IsListing: true);
            Calls["/rarecancer.network.v1.LocalRegistryService/ConfirmDataQueryValue"] = new(async t =>
            {
                // The first caller past authorization confirms Q2; once the hub has closed it, the next is told so (FAILED_PRECONDITION).
                try
                {
                    return (await RegistryA(t).ConfirmDataQueryValueAsync(new() { QueryId = _queryQ2, Comment = "正しい値です" })).Query.Query.QueryId == _queryQ2;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.LocalDirectoryService/SearchFacilities"] = new(async t =>
                (await DirectoryA(t).SearchFacilitiesAsync(new() { Filter = new FacilityFilter { Region = "Kanto" } })).Facilities.Count > 0);
            Calls["/rarecancer.network.v1.LocalDirectoryService/ListDirectoryExperts"] = new(async t =>
                (await DirectoryA(t).ListDirectoryExpertsAsync(new())).Experts.Any(e => e.ExpertId == "expert-1"));
            Calls["/rarecancer.network.v1.LocalDirectoryService/ListLocalTrials"] = new(async t =>
                (await DirectoryA(t).ListLocalTrialsAsync(new())).Trials.Any(x => x.TrialId == ExampleTrial));
            Calls["/rarecancer.network.v1.LocalDirectoryService/MatchRegistryRecord"] = new(async t =>
                (await DirectoryA(t).MatchRegistryRecordAsync(new() { RecordId = _recordR })).Result.RecordId == _recordR);
            Calls["/rarecancer.network.v1.LocalReferralService/CreateReferral"] = new(async t => !(await ReferralsA(t).CreateReferralAsync(NewReferral())).Duplicate);
            Calls["/rarecancer.network.v1.LocalReferralService/ReferFromTrialMatch"] = new(async t =>
                !(await ReferralsA(t).ReferFromTrialMatchAsync(new()
                {
                    ReferralId = Guid.CreateVersion7().ToString(), RegistryRecordId = _recordR, Urgency = Urgency.Routine,
                    TrialArm = new TrialArmTarget { TrialId = "jRCT2031990104", ArmId = "A" },
                })).Duplicate);
            Calls["/rarecancer.network.v1.LocalReferralService/ListReferrals"] = new(
                async t => (await ReferralsA(t).ListReferralsAsync(new() { PageSize = 200 })).Referrals.Any(x => x.Referral.ReferralId == _referralF), IsListing: true);
            Calls["/rarecancer.network.v1.LocalReferralService/GetReferral"] = new(async t =>
                (await ReferralsA(t).GetReferralAsync(new() { ReferralId = _referralF })).Referral.Referral.ReferralId == _referralF);
            Calls["/rarecancer.network.v1.LocalReferralService/ActOnIncomingReferral"] = new(async t =>
            {
                // The first caller past authorization receives F; the next is told it is no longer REQUESTED (FAILED_PRECONDITION).
                try
                {
                    return (await ReferralsA(t).ActOnIncomingReferralAsync(new() { ReferralId = _referralF, Action = ReferralAction.Receive })).Referral.AddressedHere;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.LocalReferralService/CancelReferral"] = new(async t =>
            {
                var fresh = (await ReferralsA(Token(CallerRoles.LocalClient, true)).CreateReferralAsync(NewReferral())).Referral.Referral.ReferralId;
                return (await ReferralsA(t).CancelReferralAsync(new() { ReferralId = fresh, Reason = "不要になりました" })).Referral.EffectiveState == ReferralState.Cancelled;
            });
            Calls["/rarecancer.network.v1.ReferralSyncService/DeliverReferral"] = new(async t =>
            {
                var referral = new Referral
                {
                    ReferralId = Guid.CreateVersion7().ToString(), SendingFacilityCode = "CORE-004", Target = new ReferralTarget { FacilityCode = "CORE-011" },
                    PatientPseudonym = new string('c', 64), Reason = "評価依頼", Urgency = Urgency.Routine, CreatedBy = "matrix", State = ReferralState.Requested,
                    CreatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                };
                return !(await new ReferralSyncService.ReferralSyncServiceClient(HubChannel(t)).DeliverReferralAsync(new() { Referral = referral })).Duplicate;
            });
            Calls["/rarecancer.network.v1.ReferralSyncService/DeliverReferralTransition"] = new(async t =>
            {
                // A fresh referral of spoke A's at the hub, cancelled by its own node; refused to another.
                var fresh = (await ReferralsA(Token(CallerRoles.LocalClient, true)).CreateReferralAsync(NewReferral())).Referral.Referral.ReferralId;
                await Eventually.UntilAsync(async () => (await ReferralsA(Token(CallerRoles.LocalClient, true)).GetReferralAsync(new() { ReferralId = fresh })).Referral,
                    r => r.Referral.ReceivingNodeId.Length > 0, "the fresh referral at the hub");
                return (await new ReferralSyncService.ReferralSyncServiceClient(HubChannel(t)).DeliverReferralTransitionAsync(new()
                {
                    ReferralId = fresh,
                    Transition = new ReferralTransition
                    {
                        TransitionId = Guid.CreateVersion7().ToString(), ToState = ReferralState.Cancelled, MadeBy = "matrix", Reason = "取り下げ",
                        OccurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    },
                })).Referral.State == ReferralState.Cancelled;
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/WithdrawConsultation"] = new(async t =>
            {
                var fresh = Samples.Submission();
                await LocalA(Token(CallerRoles.LocalClient, true)).SubmitConsultationAsync(fresh);
                return (await LocalA(t).WithdrawConsultationAsync(new() { ConsultationId = fresh.ConsultationId, Reason = "取り下げ" })).Consultation.Status == ConsultationStatus.Withdrawn;
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/AnswerInformationRequest"] = new(async t =>
            {
                try
                {
                    await LocalA(t).AnswerInformationRequestAsync(new() { ConsultationId = c, RequestId = Guid.CreateVersion7().ToString(), Answer = "回答" });
                    return true;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && e.Status.Detail.Contains("Information request", StringComparison.Ordinal))
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/AcknowledgeReport"] = new(async t =>
            {
                // Whether C's report has reached spoke A yet or not, a caller past authorization gets an answer about C.
                try
                {
                    return (await LocalA(t).AcknowledgeReportAsync(new() { ConsultationId = c })).Consultation.ConsultationId == c;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    return true;
                }
            });
            Calls["/rarecancer.network.v1.LocalConsultationService/SubmitConsultation"] = new(async t => !(await LocalA(t).SubmitConsultationAsync(Samples.Submission())).Duplicate);
            Calls["/rarecancer.network.v1.LocalConsultationService/ListConsultations"] = new(
                async t => (await LocalA(t).ListConsultationsAsync(new() { PageSize = 200 })).Consultations.Any(x => x.ConsultationId == c), IsListing: true);
            Calls["/rarecancer.network.v1.LocalConsultationService/GetConsultation"] = new(async t => (await LocalA(t).GetConsultationAsync(new() { ConsultationId = c })).Consultation.ConsultationId == c);
        }

        private Grpc.Net.Client.GrpcChannel HubChannel(string token) => Clients.Channel(_hub.Url, _hub.CaPath, token, _certificates.GetValueOrDefault(token));
        private HotlineService.HotlineServiceClient Hotline(string token) => new(HubChannel(token));
        private LocalHotlineService.LocalHotlineServiceClient HotlineA(string token) =>
            new(Clients.Channel(_spokeA.Url, _spokeA.CaPath, token, _certificates.GetValueOrDefault(token)));
        private DirectoryService.DirectoryServiceClient Directory(string token) => new(HubChannel(token));
        private RegistryDataManagementService.RegistryDataManagementServiceClient DataManagement(string token) => new(HubChannel(token));
        private ExpertConsultationService.ExpertConsultationServiceClient Expert(string token) => new(HubChannel(token));
        private SpokeSyncService.SpokeSyncServiceClient Sync(string token) => new(HubChannel(token));
        private LocalRegistryService.LocalRegistryServiceClient RegistryA(string token) =>
            new(Clients.Channel(_spokeA.Url, _spokeA.CaPath, token, _certificates.GetValueOrDefault(token)));
        private LocalReferralService.LocalReferralServiceClient ReferralsA(string token) =>
            new(Clients.Channel(_spokeA.Url, _spokeA.CaPath, token, _certificates.GetValueOrDefault(token)));
        private LocalDirectoryService.LocalDirectoryServiceClient DirectoryA(string token) =>
            new(Clients.Channel(_spokeA.Url, _spokeA.CaPath, token, _certificates.GetValueOrDefault(token)));
        private LocalConsultationService.LocalConsultationServiceClient LocalA(string token) => new(Clients.Channel(_spokeA.Url, _spokeA.CaPath, token, _certificates.GetValueOrDefault(token)));

        public async ValueTask DisposeAsync()
        {
            await _spokeA.DisposeAsync();
            await _spokeB.DisposeAsync();
            await _hub.DisposeAsync();
            _folder.Dispose();
        }
    }
}

[CollectionDefinition("matrix")]
public sealed class MatrixCollection : ICollectionFixture<AuthorizationMatrixTests.Network>;
