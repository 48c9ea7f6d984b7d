using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Directory;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Referrals;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>
/// Referrals at the spoke: stored with their outbox entry, changes made here shown on top of the hub's version
/// until the hub applies them, and the hub's version (through the feed) taking their place.
/// </summary>
public sealed class ReferralStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(SpokeStoreFixture Spoke, LocalReferralStore Store)> CreateAsync()
    {
        var spoke = await SpokeStoreFixture.CreateAsync();
        var directory = new LocalDirectoryStore(spoke.Database, TimeProvider.System);
        await directory.ApplyAsync(new PullDirectoryResponse
        {
            ThroughVersion = 2,
            Entries =
            {
                new DirectoryEntry { Facility = new Facility { FacilityCode = "CORE-004", NameJa = "東京大学医学部附属病院", ServingNodeId = "spoke-test", DirectoryVersion = 1 } },
                new DirectoryEntry { Facility = new Facility { FacilityCode = "HUB-001", NameJa = "北海道がんセンター", ServingNodeId = "spoke-sapporo", DirectoryVersion = 2 } },
            },
        }, Ct);
        return (spoke, new LocalReferralStore(spoke.Database, directory, spoke.Pseudonymizer, new OutboxSignal(), spoke.Options, TimeProvider.System));
    }

    private static CreateReferralRequest Request(string target = "HUB-001") => new()
    {
        ReferralId = Guid.CreateVersion7().ToString(),
        Target = new ReferralTarget { FacilityCode = target },
        LocalPatientId = "P-0001",
        Reason = "評価依頼",
        Urgency = Urgency.Routine,
    };

    private static Referral HubVersion(LocalReferral sent, string receivingNode, params ReferralState[] path)
    {
        var referral = sent.Referral.Clone();
        referral.ReceivingNodeId = receivingNode;
        var from = ReferralState.Requested;
        foreach (var to in path)
        {
            referral.History.Add(new ReferralTransition { TransitionId = Guid.CreateVersion7().ToString(), FromState = from, ToState = to, MadeBy = "coordinator" });
            from = to;
        }
        referral.State = from;
        return referral;
    }

    private static async Task ApplyAsync(SpokeStoreFixture spoke, Referral hubVersion, long sequence) =>
        await spoke.Feed.ApplyAsync(new SubscribeEventsResponse
        {
            Sequence = sequence, OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), ReferralChanged = new ReferralChanged { Referral = hubVersion },
        }, Ct);

    [Fact]
    public async Task ChangesMadeHere_ShowOnTopOfTheHubsVersion_UntilTheHubAppliesThem_AndARefusedOneLeaves()
    {
        var (spoke, store) = await CreateAsync();
        await using var _ = spoke;
        var request = Request();
        var (sent, duplicate) = await store.CreateAsync("yamada", new NewReferral(request, null), Ct);
        Assert.False(duplicate);
        Assert.Equal((ReferralState.Requested, true, false, true, "P-0001"), (sent.EffectiveState, sent.SentHere, sent.AddressedHere, sent.DeliveryPending, sent.LocalPatientId));
        Assert.Equal(DeliveryState.Pending, sent.DeliveryState);
        Assert.Equal(spoke.Pseudonymizer.Pseudonymise("P-0001"), sent.Referral.PatientPseudonym);
        var queued = await spoke.Outbox.DueAsync(10, Ct);
        var delivery = Assert.Single(queued, e => e.Kind == LocalReferralStore.DeliverKind);
        Assert.Equal($"referral:{request.ReferralId}", delivery.OrderingKey);
        Assert.DoesNotContain("P-0001", System.Text.Encoding.UTF8.GetString(delivery.Payload), StringComparison.Ordinal);

        await spoke.Outbox.MarkDeliveredAsync([delivery], Ct);
        Assert.Equal(DeliveryState.Delivered, (await store.GetAsync(request.ReferralId, Ct)).DeliveryState);
        await ApplyAsync(spoke, HubVersion(sent, "spoke-sapporo"), 1);
        var cancelled = await store.CancelAsync("yamada", new CancelReferralRequest { ReferralId = request.ReferralId, Reason = "家族の希望" }, Ct);
        Assert.Equal(ReferralState.Cancelled, cancelled.EffectiveState);
        Assert.Equal(ReferralState.Requested, cancelled.Referral.State);
        Assert.Equal(DeliveryState.Pending, cancelled.DeliveryState);
        var pending = Assert.Single(cancelled.PendingTransitions);

        // The receiver accepted before the cancel reached the hub: the cancel still applies on top.
        await ApplyAsync(spoke, HubVersion(sent, "spoke-sapporo", ReferralState.Received, ReferralState.Accepted), 2);
        var view = await store.GetAsync(request.ReferralId, Ct);
        Assert.Equal((ReferralState.Accepted, ReferralState.Cancelled, 1), (view.Referral.State, view.EffectiveState, view.PendingTransitions.Count));
        // Once the receiver has started and completed it, the pending cancel no longer applies; the hub refuses it and it leaves.
        await ApplyAsync(spoke, HubVersion(sent, "spoke-sapporo", ReferralState.Received, ReferralState.Accepted, ReferralState.InProgress, ReferralState.Completed), 3);
        Assert.Equal(ReferralState.Completed, (await store.GetAsync(request.ReferralId, Ct)).EffectiveState);
        var cancel = Assert.Single(await spoke.Outbox.DueAsync(10, Ct), e => e.Kind == LocalReferralStore.TransitionKind);
        await spoke.Outbox.MarkRefusedAsync([cancel], "FailedPrecondition: Referral is COMPLETED; it cannot become CANCELLED: COMPLETED is final.", Ct);
        await store.DropRefusedTransitionsAsync([cancel], Ct);
        view = await store.GetAsync(request.ReferralId, Ct);
        Assert.Empty(view.PendingTransitions);
        Assert.Contains("COMPLETED is final", view.DeliveryError, StringComparison.Ordinal);
        Assert.Equal(DeliveryState.Rejected, view.DeliveryState);
        Assert.Equal(pending.TransitionId, cancel.AggregateId);
    }

    [Fact]
    public async Task AReferralTheHubKeepsFailingOn_ShowsParkedWithTheReason_AndPendingAgainOnceResent()
    {
        var (spoke, store) = await CreateAsync();
        await using var _ = spoke;
        var request = Request();
        await store.CreateAsync("yamada", new NewReferral(request, null), Ct);
        var delivery = Assert.Single(await spoke.Outbox.DueAsync(10, Ct), e => e.Kind == LocalReferralStore.DeliverKind);

        Assert.False(await spoke.Outbox.RecordFailureAsync([delivery], "Unavailable: the hub is restarting", TimeSpan.Zero, parkAfterAttempts: 3, Ct));
        var retrying = await store.GetAsync(request.ReferralId, Ct);
        Assert.Equal((DeliveryState.Pending, ""), (retrying.DeliveryState, retrying.DeliveryError));

        Assert.True(await spoke.Outbox.RecordFailureAsync([delivery with { Attempts = 2 }], "Internal: the hub failed to store it", TimeSpan.Zero, parkAfterAttempts: 3, Ct));
        var parked = await store.GetAsync(request.ReferralId, Ct);
        Assert.Equal((DeliveryState.Parked, "Internal: the hub failed to store it", ReferralState.Requested),
            (parked.DeliveryState, parked.DeliveryError, parked.EffectiveState));
        var (page, _) = await store.ListAsync(ReferralDirection.Outgoing, ReferralState.Unspecified, 50, "", Ct);
        Assert.Equal(DeliveryState.Parked, Assert.Single(page).DeliveryState);

        Assert.Equal(1, await spoke.Outbox.ResendParkedAsync(null, Ct));
        Assert.Equal(DeliveryState.Pending, (await store.GetAsync(request.ReferralId, Ct)).DeliveryState);
        await spoke.Outbox.MarkDeliveredAsync(await spoke.Outbox.DueAsync(10, Ct), Ct);
        var delivered = await store.GetAsync(request.ReferralId, Ct);
        Assert.Equal((DeliveryState.Delivered, ""), (delivered.DeliveryState, delivered.DeliveryError));
    }

    [Fact]
    public async Task AReferralAddressedHere_ArrivesThroughTheFeed_WithoutAnyLocalPatientId_AndOnlyTheReceiverActsOnIt()
    {
        var (spoke, store) = await CreateAsync();
        await using var _ = spoke;
        var incoming = new Referral
        {
            ReferralId = Guid.CreateVersion7().ToString(), SendingFacilityCode = "CORE-001", ReceivingFacilityCode = "CORE-004", ReceivingNodeId = "spoke-test",
            Target = new ReferralTarget { FacilityCode = "CORE-004" }, PatientPseudonym = new string('a', 64), Reason = "評価依頼", Urgency = Urgency.Urgent,
            State = ReferralState.Requested, CreatedBy = "sato", CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        await ApplyAsync(spoke, incoming, 1);

        var view = await store.GetAsync(incoming.ReferralId, Ct);
        Assert.Equal((false, true, "", ReferralState.Requested), (view.SentHere, view.AddressedHere, view.LocalPatientId, view.EffectiveState));
        Assert.Equal(DeliveryState.Delivered, view.DeliveryState);
        var (page, _) = await store.ListAsync(ReferralDirection.Incoming, ReferralState.Requested, 50, "", Ct);
        Assert.Contains(page, r => r.Referral.ReferralId == incoming.ReferralId);
        Assert.Empty((await store.ListAsync(ReferralDirection.Outgoing, ReferralState.Unspecified, 50, "", Ct)).Page);

        await Assert.ThrowsAsync<AccessDeniedException>(() => store.CancelAsync("yamada", new CancelReferralRequest { ReferralId = incoming.ReferralId, Reason = "x" }, Ct));
        var illegal = await Assert.ThrowsAsync<PreconditionFailedException>(() =>
            store.ActAsync("coord", new ActOnIncomingReferralRequest { ReferralId = incoming.ReferralId, Action = ReferralAction.Start }, Ct));
        Assert.Contains("is REQUESTED", illegal.Message, StringComparison.Ordinal);
        var received = await store.ActAsync("coord", new ActOnIncomingReferralRequest { ReferralId = incoming.ReferralId, Action = ReferralAction.Receive }, Ct);
        Assert.Equal((ReferralState.Received, DeliveryState.Pending), (received.EffectiveState, received.DeliveryState));
        Assert.Equal(("coord", "CORE-004"), (received.PendingTransitions[0].MadeBy, received.PendingTransitions[0].MadeByFacilityCode));
    }

    [Fact]
    public async Task Creation_IsIdempotentPerId_AndNeedsTheDirectory()
    {
        var empty = await SpokeStoreFixture.CreateAsync();
        await using (empty)
        {
            var store = new LocalReferralStore(empty.Database, new LocalDirectoryStore(empty.Database, TimeProvider.System), empty.Pseudonymizer, new OutboxSignal(),
                empty.Options, TimeProvider.System);
            var missing = await Assert.ThrowsAsync<PreconditionFailedException>(() => store.CreateAsync("yamada", new NewReferral(Request(), null), Ct));
            Assert.Contains("not received the directory", missing.Message, StringComparison.Ordinal);
        }
        var (spoke, referrals) = await CreateAsync();
        await using var _ = spoke;
        var request = Request();
        var first = await referrals.CreateAsync("yamada", new NewReferral(request, null), Ct);
        var again = await referrals.CreateAsync("yamada", new NewReferral(request, null), Ct);
        Assert.True(again.Duplicate);
        Assert.Equal(first.Referral, again.Referral);
        request.Reason = "別";
        await Assert.ThrowsAsync<ConflictException>(() => referrals.CreateAsync("yamada", new NewReferral(request, null), Ct));
        Assert.Single(await spoke.Outbox.DueAsync(10, Ct), e => e.Kind == LocalReferralStore.DeliverKind);
    }
}
