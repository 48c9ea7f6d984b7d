using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Referrals;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Referrals across two spokes and the hub: a Tokyo spoke (CORE-004) refers to facilities the Sapporo spoke
/// (CORE-001) serves. Each test has its own network, so that a spoke can go offline.
/// </summary>
public sealed class ReferralTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Hub, Tokyo and Sapporo spokes, a pathologist's client at Tokyo and referral coordinators (people) at both.</summary>
    private sealed class Network : IAsyncDisposable
    {
        private readonly TempFolder _folder = new("rcn-referrals");
        private RegisteredNode _tokyoNode = null!;
        private RegisteredNode _sapporoNode = null!;

        public HubNode Hub { get; private set; } = null!;
        public SpokeNode Tokyo { get; private set; } = null!;
        public SpokeNode? Sapporo { get; private set; }
        public string TokyoToken { get; private set; } = "";
        public string TokyoCoordinator { get; private set; } = "";
        public string SapporoCoordinator { get; private set; } = "";
        public string SapporoClientToken { get; private set; } = "";

        public static async Task<Network> StartAsync()
        {
            var network = new Network();
            var hub = network.Hub = await HubNode.StartAsync(network._folder.Sub("hub"));
            network._tokyoNode = await hub.RegisterSpokeAsync("spoke-tokyo", "CORE-004", network._folder.Sub("tokyo"));
            network._sapporoNode = await hub.RegisterSpokeAsync("spoke-sapporo", "CORE-001", network._folder.Sub("sapporo"));
            network.TokyoToken = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-tokyo", "pathology"), NetworkClaims.Scopes.Local);
            network.SapporoClientToken = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-sapporo", "automation"), NetworkClaims.Scopes.Local);
            var people = await Task.WhenAll(
                People.AddAndSignInAsync(hub, network._folder.Path, "coord-tokyo", NetworkClaims.Roles.ReferralCoordinator, "CORE-004"),
                People.AddAndSignInAsync(hub, network._folder.Path, "coord-sapporo", NetworkClaims.Roles.ReferralCoordinator, "CORE-001"));
            (network.TokyoCoordinator, network.SapporoCoordinator) = (people[0], people[1]);
            network.Tokyo = await SpokeNode.StartAsync(network._folder.Sub("tokyo"), hub.Url, hub.CaPath, "spoke-tokyo", "CORE-004", network._tokyoNode);
            await network.StartSapporoAsync();
            // Both copies of the directory hold the routes before anyone refers.
            foreach (var (spoke, token) in new[] { (network.Tokyo, network.TokyoToken), (network.Sapporo!, network.SapporoClientToken) })
            {
                await Eventually.UntilAsync(async () => (await Directory(spoke, token).SearchFacilitiesAsync(new() { Filter = new() }, cancellationToken: Ct)).Facilities.Count,
                    count => count == 167, $"the directory at {spoke.NodeId}");
            }
            return network;
        }

        /// <summary>The hub's referral service as a spoke node calls it (certificate-bound token).</summary>
        public async Task<ReferralSyncService.ReferralSyncServiceClient> HubSyncAsync(bool tokyo)
        {
            var node = tokyo ? _tokyoNode : _sapporoNode;
            var token = await Clients.TokenAsync(Hub.Url, Hub.CaPath, node, NetworkClaims.Scopes.Sync);
            return new(Clients.Channel(Hub.Url, Hub.CaPath, token, node.Certificate));
        }

        public async Task StartSapporoAsync() =>
            Sapporo = await SpokeNode.StartAsync(_folder.Sub("sapporo"), Hub.Url, Hub.CaPath, "spoke-sapporo", "CORE-001", _sapporoNode);

        public async Task StopSapporoAsync()
        {
            await Sapporo!.DisposeAsync();
            Sapporo = null;
        }

        public async Task<string> StopTokyoAsync()
        {
            await Tokyo.DisposeAsync();
            return _folder.Sub("tokyo");
        }

        public async Task StartTokyoAsync() =>
            Tokyo = await SpokeNode.StartAsync(_folder.Sub("tokyo"), Hub.Url, Hub.CaPath, "spoke-tokyo", "CORE-004", _tokyoNode);

        public LocalReferralService.LocalReferralServiceClient AtTokyo(string? token = null) => new(Clients.Channel(Tokyo.Url, Tokyo.CaPath, token ?? TokyoToken));

        public LocalReferralService.LocalReferralServiceClient AtSapporo(string? token = null) => new(Clients.Channel(Sapporo!.Url, Sapporo.CaPath, token ?? SapporoCoordinator));

        public async ValueTask DisposeAsync()
        {
            await Tokyo.DisposeAsync();
            if (Sapporo is not null)
            {
                await Sapporo.DisposeAsync();
            }
            await Hub.DisposeAsync();
            _folder.Dispose();
        }

        private static LocalDirectoryService.LocalDirectoryServiceClient Directory(SpokeNode spoke, string token) => new(Clients.Channel(spoke.Url, spoke.CaPath, token));
    }

    private static CreateReferralRequest ToFacility(string facilityCode, string patient = "TKY-0001") => new()
    {
        ReferralId = Guid.CreateVersion7().ToString(),
        Target = new ReferralTarget { FacilityCode = facilityCode },
        LocalPatientId = patient,
        Reason = "後腹膜脂肪肉腫の切除について専門施設での評価を依頼します",
        Urgency = Urgency.Urgent,
        Note = "MDM2 FISH 陽性",
        ClinicalSummary = "62歳女性。後腹膜腫瘍 15 cm。",
    };

    private static Task<LocalReferral> SeenAsync(LocalReferralService.LocalReferralServiceClient client, string referralId, Func<LocalReferral, bool> until, string what) =>
        Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await client.GetReferralAsync(new() { ReferralId = referralId }, cancellationToken: Ct)).Referral;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return new LocalReferral { Referral = new Referral() };
            }
        }, until, what);

    private static bool Settled(LocalReferral r, ReferralState state) =>
        r.Referral.State == state && r.PendingTransitions.Count == 0 && !r.DeliveryPending;

    [Fact]
    public async Task AReferralsWholeLife_EveryTransitionSeenOnBothSidesInOrder_IllegalOnesRefused_AndTheSendersIdNeverLeaves()
    {
        await using var network = await Network.StartAsync();
        var request = ToFacility("HUB-001");
        var created = (await network.AtTokyo().CreateReferralAsync(request, cancellationToken: Ct)).Referral;
        Assert.Equal((ReferralState.Requested, "HUB-001", "TKY-0001"), (created.EffectiveState, created.Referral.ReceivingFacilityCode, created.LocalPatientId));
        Assert.True((await network.AtTokyo().CreateReferralAsync(request, cancellationToken: Ct)).Duplicate);
        var id = request.ReferralId;

        var incoming = await SeenAsync(network.AtSapporo(), id, r => r.AddressedHere, "the referral at Sapporo");
        Assert.Equal(("spoke-sapporo", false, ""), (incoming.Referral.ReceivingNodeId, incoming.SentHere, incoming.LocalPatientId));
        Assert.DoesNotContain("TKY-0001", incoming.ToByteString().ToStringUtf8(), StringComparison.Ordinal);
        Assert.Equal(("後腹膜脂肪肉腫の切除について専門施設での評価を依頼します", "62歳女性。後腹膜腫瘍 15 cm。"), (incoming.Referral.Reason, incoming.Referral.ClinicalSummary));
        var listed = await network.AtSapporo().ListReferralsAsync(new() { Direction = ReferralDirection.Incoming, State = ReferralState.Requested }, cancellationToken: Ct);
        Assert.Contains(listed.Referrals, r => r.Referral.ReferralId == id);

        // Illegal steps are refused where they are made, naming the state; the sender may only cancel; the receiver may not cancel.
        var skipped = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = id, Action = ReferralAction.Accept }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("is REQUESTED; it cannot become ACCEPTED", skipped.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => network.AtTokyo().ActOnIncomingReferralAsync(new() { ReferralId = id, Action = ReferralAction.Receive }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => network.AtSapporo().CancelReferralAsync(new() { ReferralId = id, Reason = "x" }, cancellationToken: Ct).ResponseAsync);

        // received → accepted → in progress → completed, each seen at both spokes.
        var steps = new (ReferralAction Action, ReferralState State)[]
        {
            (ReferralAction.Receive, ReferralState.Received), (ReferralAction.Accept, ReferralState.Accepted),
            (ReferralAction.Start, ReferralState.InProgress), (ReferralAction.Complete, ReferralState.Completed),
        };
        await RpcAssert.InvalidFieldsAsync(() => network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = id, Action = ReferralAction.Receive,
            Outcome = ReferralOutcome.Treated }, cancellationToken: Ct).ResponseAsync, "outcome");
        foreach (var (action, state) in steps)
        {
            var acted = (await network.AtSapporo().ActOnIncomingReferralAsync(new()
            {
                ReferralId = id, Action = action, Outcome = action == ReferralAction.Complete ? ReferralOutcome.Treated : ReferralOutcome.Unspecified,
                Note = action == ReferralAction.Accept ? "来週の外来で診察します" : "",
            }, cancellationToken: Ct)).Referral;
            Assert.Equal(state, acted.EffectiveState);
            await SeenAsync(network.AtSapporo(), id, r => Settled(r, state), $"{state} applied at Sapporo");
            await SeenAsync(network.AtTokyo(), id, r => Settled(r, state), $"{state} seen at Tokyo");
        }
        var atTokyo = (await network.AtTokyo().GetReferralAsync(new() { ReferralId = id }, cancellationToken: Ct)).Referral;
        var atSapporo = (await network.AtSapporo().GetReferralAsync(new() { ReferralId = id }, cancellationToken: Ct)).Referral;
        Assert.Equal(atTokyo.Referral.History, atSapporo.Referral.History);
        Assert.Equal(steps.Select(s => s.State), atTokyo.Referral.History.Select(t => t.ToState));
        Assert.Equal([ReferralState.Requested, ReferralState.Received, ReferralState.Accepted, ReferralState.InProgress], atTokyo.Referral.History.Select(t => t.FromState));
        Assert.All(atTokyo.Referral.History, t => Assert.Equal(("coord-sapporo", "CORE-001"), (t.MadeBy, t.MadeByFacilityCode)));
        Assert.Equal("来週の外来で診察します", atTokyo.Referral.History[1].Note);
        Assert.Equal(ReferralOutcome.Treated, atTokyo.Referral.History[^1].Outcome);
        Assert.True(atTokyo.Referral.History.Zip(atTokyo.Referral.History.Skip(1)).All(p => p.First.AppliedAt.ToDateTimeOffset() <= p.Second.AppliedAt.ToDateTimeOffset()));

        var final = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => network.AtTokyo().CancelReferralAsync(new() { ReferralId = id, Reason = "不要" }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("COMPLETED is final", final.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSendersSpokeOffline_WhileTheReceiverAccepts_EndsInTheRightState_AndRacingChangesMeetAtTheHubInOrder()
    {
        await using var network = await Network.StartAsync();
        var first = ToFacility("HUB-001", "TKY-0101");
        var second = ToFacility("COOP-001", "TKY-0102");
        await network.AtTokyo().CreateReferralAsync(first, cancellationToken: Ct);
        await network.AtTokyo().CreateReferralAsync(second, cancellationToken: Ct);
        foreach (var request in new[] { first, second })
        {
            await SeenAsync(network.AtTokyo(), request.ReferralId, r => Settled(r, ReferralState.Requested) && r.Referral.ReceivingNodeId == "spoke-sapporo", "routed");
        }

        // Tokyo goes offline. Sapporo receives, accepts and starts the first; the second it receives.
        await network.StopTokyoAsync();
        foreach (var action in new[] { ReferralAction.Receive, ReferralAction.Accept, ReferralAction.Start })
        {
            await network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = first.ReferralId, Action = action }, cancellationToken: Ct);
        }
        await network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = second.ReferralId, Action = ReferralAction.Receive }, cancellationToken: Ct);
        await SeenAsync(network.AtSapporo(), first.ReferralId, r => Settled(r, ReferralState.InProgress), "in progress at the hub");
        await SeenAsync(network.AtSapporo(), second.ReferralId, r => Settled(r, ReferralState.Received), "received at the hub");

        // Sapporo goes offline too, and accepts the second there; Tokyo comes back and cancels the second: the cancel reaches the hub first.
        await network.StopSapporoAsync();
        await network.StartTokyoAsync();
        var back = await SeenAsync(network.AtTokyo(), first.ReferralId, r => Settled(r, ReferralState.InProgress), "the first in progress at Tokyo, after its outage");
        Assert.Equal([ReferralState.Received, ReferralState.Accepted, ReferralState.InProgress], back.Referral.History.Select(t => t.ToState));
        await SeenAsync(network.AtTokyo(), second.ReferralId, r => Settled(r, ReferralState.Received), "the second received, seen at Tokyo");
        await network.AtTokyo().CancelReferralAsync(new() { ReferralId = second.ReferralId, Reason = "患者が地元での治療を希望" }, cancellationToken: Ct);
        await SeenAsync(network.AtTokyo(), second.ReferralId, r => Settled(r, ReferralState.Cancelled), "the cancel at the hub");

        await network.StartSapporoAsync();
        // (Its copy still says RECEIVED until the feed catches up; the acceptance made on it is refused by the hub.)
        try
        {
            await network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = second.ReferralId, Action = ReferralAction.Accept }, cancellationToken: Ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            // The feed was faster: the spoke already knew it was cancelled.
        }
        var settled = await SeenAsync(network.AtSapporo(), second.ReferralId, r => Settled(r, ReferralState.Cancelled), "the cancel at Sapporo");
        Assert.Equal(ReferralState.Cancelled, settled.EffectiveState);
        Assert.Equal("患者が地元での治療を希望", settled.Referral.History[^1].Reason);
        Assert.Equal([ReferralState.Received, ReferralState.Cancelled], settled.Referral.History.Select(t => t.ToState));
        var atHub = await network.Hub.Services.GetRequiredService<ReferralStore>().GetAsync(second.ReferralId, Ct);
        Assert.Equal(settled.Referral.History, atHub!.History);
    }

    [Fact]
    public async Task ATrialMatch_BecomesAReferralInOneStep_ToTheSpokeServingTheSite_AndTheLoopClosesWithTheEnrolment()
    {
        await using var network = await Network.StartAsync();
        // The soft-tissue trial's first site, CORE-011, is served by Sapporo's spoke by the administrator's choice.
        await network.Hub.LoadExampleTrialsAsync();
        var version = await network.Hub.ChangeDirectoryAsync(a => a.UpdateFacilityAsync(new FacilityChange("CORE-011", ServedByNodeId: "spoke-sapporo"), Ct));
        var registry = new LocalRegistryService.LocalRegistryServiceClient(Clients.Channel(network.Tokyo.Url, network.Tokyo.CaPath, network.TokyoToken));
        var record = RegistrySamples.Record("CORE-004");
        // The spoke pseudonymises the patient: the stored version is what travels.
        record = (await registry.CreateRegistryRecordAsync(new() { LocalPatientId = "TKY-0200", Record = record }, cancellationToken: Ct)).Record.Record;
        var directory = new LocalDirectoryService.LocalDirectoryServiceClient(Clients.Channel(network.Tokyo.Url, network.Tokyo.CaPath, network.TokyoToken));
        await Eventually.UntilAsync(async () => (await directory.SearchFacilitiesAsync(new() { Filter = new() }, cancellationToken: Ct)).Copy.DirectoryVersion,
            v => v >= version, "the catalogue at Tokyo");

        var notEligible = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => network.AtTokyo().ReferFromTrialMatchAsync(new()
        {
            ReferralId = Guid.CreateVersion7().ToString(), RegistryRecordId = record.RecordId, Urgency = Urgency.Routine,
            TrialArm = new TrialArmTarget { TrialId = "jRCT2031990101", ArmId = "A" },
        }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("tumour_types not met", notEligible.Status.Detail, StringComparison.Ordinal);

        var referralId = Guid.CreateVersion7().ToString();
        var referred = (await network.AtTokyo().ReferFromTrialMatchAsync(new()
        {
            ReferralId = referralId, RegistryRecordId = record.RecordId, Urgency = Urgency.Routine, IncludeRegistryRecord = true,
            TrialArm = new TrialArmTarget { TrialId = "jRCT2031990104", ArmId = "A" },
        }, cancellationToken: Ct)).Referral;
        Assert.Equal(("CORE-011", record.RecordId, "TKY-0200"), (referred.Referral.ReceivingFacilityCode, referred.Referral.RegistryRecordId, referred.LocalPatientId));
        Assert.StartsWith("Eligible for jRCT2031990104 arm A", referred.Referral.Reason, StringComparison.Ordinal);
        Assert.Equal(record.PatientPseudonym, referred.Referral.PatientPseudonym);

        var atSite = await SeenAsync(network.AtSapporo(), referralId, r => r.AddressedHere, "the trial referral at the site's spoke");
        Assert.Equal("jRCT2031990104", atSite.Referral.TrialMatch.TrialId);
        Assert.Equal(record, atSite.Referral.SharedRecord);
        foreach (var action in new[] { ReferralAction.Receive, ReferralAction.Accept, ReferralAction.Start })
        {
            await network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = referralId, Action = action }, cancellationToken: Ct);
        }
        await network.AtSapporo().ActOnIncomingReferralAsync(new()
        {
            ReferralId = referralId, Action = ReferralAction.Complete, Outcome = ReferralOutcome.EnrolledInTrial, Note = "登録番号 104-007",
        }, cancellationToken: Ct);

        var closed = await SeenAsync(network.AtTokyo(), referralId, r => Settled(r, ReferralState.Completed), "the enrolment back at Tokyo");
        Assert.Equal(ReferralOutcome.EnrolledInTrial, closed.Referral.History[^1].Outcome);
        // What the statistics will count: the hub holds the outcome beside the trial arm and the record.
        var hub = await network.Hub.Services.GetRequiredService<ReferralStore>().GetAsync(referralId, Ct);
        Assert.Equal((ReferralState.Completed, "jRCT2031990104"), (hub!.State, hub.Target.TrialArm.TrialId));
    }

    [Fact]
    public async Task BadRequests_AreRefusedWithTheField_AndEachSpokeSeesOnlyItsOwnReferrals()
    {
        await using var network = await Network.StartAsync();
        await network.Hub.LoadExampleTrialsAsync();
        await network.Hub.ChangeDirectoryAsync(a => a.RetireFacilityAsync("COOP-012", Ct));
        var tokyo = network.AtTokyo();
        await Eventually.UntilAsync(async () => (await new LocalDirectoryService.LocalDirectoryServiceClient(Clients.Channel(network.Tokyo.Url, network.Tokyo.CaPath, network.TokyoToken))
            .ListLocalTrialsAsync(new(), cancellationToken: Ct)).Trials.Count, count => count == 4, "the catalogue at Tokyo");

        await RpcAssert.InvalidFieldsAsync(() => tokyo.CreateReferralAsync(new() { ReferralId = "r1", IncludeRegistryRecord = true }, cancellationToken: Ct).ResponseAsync,
            "referral_id", "target", "local_patient_id", "include_registry_record", "reason", "urgency");
        await RpcAssert.InvalidFieldsAsync(() => tokyo.CreateReferralAsync(ToFacility("NOPE-1"), cancellationToken: Ct).ResponseAsync, "target.facility_code");
        var retired = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => tokyo.CreateReferralAsync(ToFacility("COOP-012"), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("retired", retired.Status.Detail, StringComparison.Ordinal);
        var closedArm = ToFacility("CORE-011");
        closedArm.Target = new ReferralTarget { TrialArm = new TrialArmTarget { TrialId = "jRCT2031990102", ArmId = "erbb2" } };
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => tokyo.CreateReferralAsync(closedArm, cancellationToken: Ct).ResponseAsync);
        closedArm.Target.TrialArm.ArmId = "braf";
        closedArm.Target.TrialArm.SiteFacilityCode = "HUB-001";
        await RpcAssert.InvalidFieldsAsync(() => tokyo.CreateReferralAsync(closedArm, cancellationToken: Ct).ResponseAsync, "target.trial_arm.site_facility_code");
        await RpcAssert.InvalidFieldsAsync(() => tokyo.CreateReferralAsync(new CreateReferralRequest(ToFacility("HUB-001")) { ConsultationId = Guid.CreateVersion7().ToString() },
            cancellationToken: Ct).ResponseAsync, "consultation_id");
        var first = ToFacility("HUB-001");
        await tokyo.CreateReferralAsync(first, cancellationToken: Ct);
        first.Reason = "別の理由";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => tokyo.CreateReferralAsync(first, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.InvalidFieldsAsync(() => network.AtSapporo().ActOnIncomingReferralAsync(new() { ReferralId = first.ReferralId, Action = ReferralAction.Reject },
            cancellationToken: Ct).ResponseAsync, "reason");
        await RpcAssert.InvalidFieldsAsync(() => tokyo.ListReferralsAsync(new() { PageSize = 1000, State = (ReferralState)77 }, cancellationToken: Ct).ResponseAsync, "page_size", "state");

        // A referral from Tokyo to a Tokyo hospital (Tokyo's spoke serves it) never reaches Sapporo's spoke.
        var local = ToFacility("CORE-011", "TKY-0300");
        await tokyo.CreateReferralAsync(local, cancellationToken: Ct);
        var both = await SeenAsync(tokyo, local.ReferralId, r => r.Referral.ReceivingNodeId == "spoke-tokyo", "routed back to Tokyo");
        Assert.True(both.SentHere && both.AddressedHere);
        await SeenAsync(network.AtSapporo(), first.ReferralId, r => r.AddressedHere, "the first at Sapporo");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.AtSapporo().GetReferralAsync(new() { ReferralId = local.ReferralId }, cancellationToken: Ct).ResponseAsync);
        Assert.DoesNotContain((await network.AtSapporo().ListReferralsAsync(new(), cancellationToken: Ct)).Referrals, r => r.Referral.ReferralId == local.ReferralId);

        // At the hub: a node acts only for its own facility, and only on referrals it sent or receives.
        var sapporoHub = await network.HubSyncAsync(tokyo: false);
        var tokyoHub = await network.HubSyncAsync(tokyo: true);
        var delivered = (await tokyo.GetReferralAsync(new() { ReferralId = local.ReferralId }, cancellationToken: Ct)).Referral.Referral.Clone();
        delivered.ReceivingNodeId = "";
        delivered.History.Clear();
        delivered.State = ReferralState.Requested;
        var forged = delivered.Clone();
        forged.ReferralId = Guid.CreateVersion7().ToString();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => sapporoHub.DeliverReferralAsync(new() { Referral = forged }, cancellationToken: Ct).ResponseAsync);
        Assert.True((await tokyoHub.DeliverReferralAsync(new() { Referral = delivered }, cancellationToken: Ct)).Duplicate);
        var altered = delivered.Clone();
        altered.Note = "書き換え";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => tokyoHub.DeliverReferralAsync(new() { Referral = altered }, cancellationToken: Ct).ResponseAsync);
        ReferralTransition Step(ReferralState to) => new()
        {
            TransitionId = Guid.CreateVersion7().ToString(), ToState = to, MadeBy = "someone", Reason = to == ReferralState.Cancelled ? "理由" : "",
            OccurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => sapporoHub.DeliverReferralTransitionAsync(new()
        {
            ReferralId = local.ReferralId, Transition = Step(ReferralState.Cancelled),
        }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => tokyoHub.DeliverReferralTransitionAsync(new()
        {
            ReferralId = first.ReferralId, Transition = Step(ReferralState.Received),
        }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => tokyoHub.DeliverReferralTransitionAsync(new()
        {
            ReferralId = Guid.CreateVersion7().ToString(), Transition = Step(ReferralState.Cancelled),
        }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.InvalidFieldsAsync(() => tokyoHub.DeliverReferralTransitionAsync(new() { ReferralId = "x", Transition = new ReferralTransition { ToState = ReferralState.Completed } },
            cancellationToken: Ct).ResponseAsync, "referral_id", "transition.transition_id", "transition.made_by", "transition.occurred_at", "transition.outcome");
        await RpcAssert.InvalidFieldsAsync(() => tokyoHub.DeliverReferralAsync(new(), cancellationToken: Ct).ResponseAsync, "referral");
    }
}
