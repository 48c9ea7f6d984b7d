using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Referrals;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>Referrals at the hub, on both providers: routed by the published directory, applied once, and told to both parties' feeds.</summary>
public sealed class ReferralStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The test store's spoke (CORE-004, Tokyo) plus a Sapporo spoke serving Hokkaido's hospitals.</summary>
    private static async Task<HubStore> CreateAsync(HubStorageProvider provider)
    {
        var hub = await HubStore.CreateAsync(provider);
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('北海道', 'Hokkaido', '01');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-001', '北海道大学病院', 1, '北海道', 'Hokkaido');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('HUB-001', '北海道がんセンター', 2, '北海道', 'Hokkaido');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-sapporo', 'CORE-001', '2026-02-01T00:00:00.0000000Z');
            """);
        await new DirectoryAdministration(hub.Database, hub.Feed, TimeProvider.System).RepublishAsync(Ct);
        return hub;
    }

    private static Referral NewReferral(string target = "HUB-001") => new()
    {
        ReferralId = Guid.CreateVersion7().ToString(),
        SendingFacilityCode = "CORE-004",
        Target = new ReferralTarget { FacilityCode = target },
        PatientPseudonym = new string('b', 64),
        Reason = "専門施設での評価",
        Urgency = Urgency.Urgent,
        CreatedBy = "yamada",
        CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        State = ReferralState.Requested,
    };

    private static ReferralTransition Step(ReferralState to, string? id = null, ReferralOutcome outcome = ReferralOutcome.Unspecified) => new()
    {
        TransitionId = id ?? Guid.CreateVersion7().ToString(),
        ToState = to,
        MadeBy = "coordinator",
        OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        Reason = to is ReferralState.Cancelled or ReferralState.Rejected ? "理由" : "",
        Outcome = outcome,
    };

    private static async Task<List<Referral>> FeedAsync(HubStore hub, string node) =>
        [.. (await hub.Feed.ReadAfterAsync(node, 0, 500, Ct)).Where(e => e.ReferralChanged is not null).Select(e => e.ReferralChanged.Referral)];

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Delivery_IsRoutedToTheServingSpoke_OnceForARepeat_AndToldToBothParties(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        var store = new ReferralStore(hub.Database, hub.Feed, TimeProvider.System);
        var referral = NewReferral();

        var (routed, duplicate) = await store.DeliverAsync(HubStore.NodeId, referral, Ct);
        Assert.False(duplicate);
        Assert.Equal(("HUB-001", "spoke-sapporo", ReferralState.Requested), (routed.ReceivingFacilityCode, routed.ReceivingNodeId, routed.State));
        Assert.True((await store.DeliverAsync(HubStore.NodeId, referral, Ct)).Duplicate);
        var changed = referral.Clone();
        changed.Reason = "別の理由";
        await Assert.ThrowsAsync<ConflictException>(() => store.DeliverAsync(HubStore.NodeId, changed, Ct));
        Assert.Equal([routed], await FeedAsync(hub, HubStore.NodeId));
        Assert.Equal([routed], await FeedAsync(hub, "spoke-sapporo"));

        // A referral to the sender's own region stays with it, and its feed hears of it once.
        var local = (await store.DeliverAsync(HubStore.NodeId, NewReferral("CORE-004"), Ct)).Referral;
        Assert.Equal(HubStore.NodeId, local.ReceivingNodeId);
        Assert.Equal(2, (await FeedAsync(hub, HubStore.NodeId)).Count);
        Assert.Single(await FeedAsync(hub, "spoke-sapporo"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Transitions_FollowTheWorkflow_EachPartyItsOwn_AppliedOncePerId(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        var store = new ReferralStore(hub.Database, hub.Feed, TimeProvider.System);
        var id = (await store.DeliverAsync(HubStore.NodeId, NewReferral(), Ct)).Referral.ReferralId;

        var skipped = await Assert.ThrowsAsync<PreconditionFailedException>(() => store.TransitionAsync("spoke-sapporo", "CORE-001", id, Step(ReferralState.Accepted), Ct));
        Assert.Contains("is REQUESTED; it cannot become ACCEPTED", skipped.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AccessDeniedException>(() => store.TransitionAsync(HubStore.NodeId, "CORE-004", id, Step(ReferralState.Received), Ct));
        await Assert.ThrowsAsync<AccessDeniedException>(() => store.TransitionAsync("spoke-sapporo", "CORE-001", id, Step(ReferralState.Cancelled), Ct));
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => store.TransitionAsync("spoke-sapporo", "CORE-001", Guid.CreateVersion7().ToString(), Step(ReferralState.Received), Ct));

        var receive = Step(ReferralState.Received);
        var received = (await store.TransitionAsync("spoke-sapporo", "CORE-001", id, receive, Ct)).Referral;
        Assert.Equal((ReferralState.Received, ReferralState.Requested, "CORE-001"), (received.State, received.History[0].FromState, received.History[0].MadeByFacilityCode));
        Assert.NotNull(received.History[0].AppliedAt);
        Assert.True((await store.TransitionAsync("spoke-sapporo", "CORE-001", id, receive, Ct)).Duplicate);
        await store.TransitionAsync("spoke-sapporo", "CORE-001", id, Step(ReferralState.Accepted), Ct);
        var cancelled = (await store.TransitionAsync(HubStore.NodeId, "CORE-004", id, Step(ReferralState.Cancelled), Ct)).Referral;
        Assert.Equal([ReferralState.Received, ReferralState.Accepted, ReferralState.Cancelled], cancelled.History.Select(t => t.ToState));

        // The receiver's start, made before it heard of the cancel, meets a final state.
        var late = await Assert.ThrowsAsync<PreconditionFailedException>(() => store.TransitionAsync("spoke-sapporo", "CORE-001", id, Step(ReferralState.InProgress), Ct));
        Assert.Contains("CANCELLED is final", late.Message, StringComparison.Ordinal);
        Assert.Equal(cancelled, await store.GetAsync(id, Ct));
        Assert.Equal(4, (await FeedAsync(hub, "spoke-sapporo")).Count);
        Assert.Equal(cancelled, (await FeedAsync(hub, HubStore.NodeId))[^1]);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task TheSameTransition_AtTwoInstancesAtOnce_IsAppliedOnce(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        await using var other = hub.SecondInstance();
        var first = new ReferralStore(hub.Database, hub.Feed, TimeProvider.System);
        var second = new ReferralStore(other.Database, other.Feed, TimeProvider.System);
        var id = (await first.DeliverAsync(HubStore.NodeId, NewReferral(), Ct)).Referral.ReferralId;
        var receive = Step(ReferralState.Received);

        for (var round = 0; round < 5; round++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                (i % 2 == 0 ? first : second).TransitionAsync("spoke-sapporo", "CORE-001", id, receive, Ct)));
            Assert.Equal(round == 0 ? 1 : 0, results.Count(r => !r.Duplicate));
        }
        Assert.Single((await first.GetAsync(id, Ct))!.History);
        Assert.Equal(2, (await FeedAsync(hub, "spoke-sapporo")).Count);
    }
}
