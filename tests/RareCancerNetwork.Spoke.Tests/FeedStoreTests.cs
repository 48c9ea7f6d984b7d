using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Feed;

namespace RareCancerNetwork.Spoke.Tests;

public sealed class FeedStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Apply_StatusAndReport_AdvancesCursor_ReplayChangesNothing()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;

        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(Status(10, id, ConsultationStatus.Assigned), Ct));
        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(Report(11, id, 1), Ct));
        // Visible as reported as soon as the report is there, before the status event.
        Assert.Equal(ConsultationStatus.Reported, (await spoke.Store.GetAsync(id, Ct)).Status);
        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(Status(12, id, ConsultationStatus.Reported), Ct));
        Assert.Equal(12, await spoke.Feed.CursorAsync(Ct));

        // A replay of an older event (reconnect from a stale cursor) must not move the status back.
        await spoke.Feed.ApplyAsync(Status(10, id, ConsultationStatus.Assigned), Ct);
        await spoke.Feed.ApplyAsync(Report(11, id, 1), Ct);
        var consultation = await spoke.Store.GetAsync(id, Ct);
        Assert.Equal(ConsultationStatus.Reported, consultation.Status);
        Assert.Equal(DeliveryState.Delivered, consultation.DeliveryState);
        Assert.Single(consultation.Reports);
        Assert.Equal(12, await spoke.Feed.CursorAsync(Ct));
    }

    /// <summary>
    /// A burst applied together (one transaction) ends where the same events applied one by one would: each answered, the
    /// cursor past the last, replayed events inside the burst changing nothing.
    /// </summary>
    [Fact]
    public async Task ApplyAll_ABurstInOneTransaction_EndsAsOneByOne_CursorPastTheLast()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        var unknown = Guid.CreateVersion7().ToString();

        var results = await spoke.Feed.ApplyAllAsync(
            [Status(10, id, ConsultationStatus.Assigned), Report(11, id, 1), Status(10, id, ConsultationStatus.Assigned), Status(12, unknown, ConsultationStatus.Assigned),
                Status(13, id, ConsultationStatus.Reported)], Ct);

        Assert.Equal([FeedApplyResult.Applied, FeedApplyResult.Applied, FeedApplyResult.Applied, FeedApplyResult.UnknownConsultation, FeedApplyResult.Applied], results);
        Assert.Equal(13, await spoke.Feed.CursorAsync(Ct));
        var consultation = await spoke.Store.GetAsync(id, Ct);
        Assert.Equal(ConsultationStatus.Reported, consultation.Status);
        Assert.Single(consultation.Reports);
    }

    /// <summary>A withdrawal not yet at the hub is not undone by a status the hub sent before it knew of it; a report that came first is.</summary>
    [Fact]
    public async Task Apply_AnEarlierStatus_DoesNotUndoAWithdrawalOnItsWay_AReportThatCameFirstDoes()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        await spoke.Store.WithdrawAsync("t", new WithdrawConsultationRequest { ConsultationId = id, Reason = "検体不良" }, Ct);

        await spoke.Feed.ApplyAsync(Status(10, id, ConsultationStatus.AwaitingAttachments), Ct);
        Assert.Equal(ConsultationStatus.Withdrawn, (await spoke.Store.GetAsync(id, Ct)).Status);
        await spoke.Feed.ApplyAsync(Status(11, id, ConsultationStatus.Withdrawn), Ct);
        Assert.Equal(ConsultationStatus.Withdrawn, (await spoke.Store.GetAsync(id, Ct)).Status);

        var other = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        await spoke.Store.WithdrawAsync("t", new WithdrawConsultationRequest { ConsultationId = other, Reason = "重複" }, Ct);
        await spoke.Feed.ApplyAsync(Status(12, other, ConsultationStatus.Reported), Ct);
        Assert.Equal(ConsultationStatus.Reported, (await spoke.Store.GetAsync(other, Ct)).Status);
    }

    /// <summary>
    /// Downloads never overwrite a change made here that has not reached the hub: an acknowledgement or an answer on its way stays
    /// against the status the hub sent before it knew; a new request from the hub (or the hub's own answer once delivered) still applies.
    /// </summary>
    [Fact]
    public async Task Apply_AnEarlierStatus_DoesNotUndoAnAcknowledgementOrAnAnswerOnItsWay_ANewRequestDoes()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        await spoke.Outbox.MarkDeliveredAsync(await spoke.Outbox.DueAsync(10, Ct), Ct);
        await spoke.Feed.ApplyAsync(Status(1, id, ConsultationStatus.Assigned), Ct);

        await spoke.Feed.ApplyAsync(Asked(2, id, "first"), Ct);
        await spoke.Feed.ApplyAsync(Status(3, id, ConsultationStatus.InformationRequested), Ct);
        var answered = await spoke.Store.AnswerAsync("t", new AnswerInformationRequestRequest { ConsultationId = id, RequestId = "first", Answer = "免疫染色追加済み" }, Ct);
        Assert.Equal(ConsultationStatus.Assigned, answered.Status);
        // The hub's INFORMATION_REQUESTED again (sent before the answer reached it): the answer stays.
        await spoke.Feed.ApplyAsync(Status(4, id, ConsultationStatus.InformationRequested), Ct);
        Assert.Equal(ConsultationStatus.Assigned, (await spoke.Store.GetAsync(id, Ct)).Status);
        // A second request, while the first answer is still on its way: the new question applies.
        await spoke.Feed.ApplyAsync(Asked(5, id, "second"), Ct);
        await spoke.Feed.ApplyAsync(Status(6, id, ConsultationStatus.InformationRequested), Ct);
        Assert.Equal(ConsultationStatus.InformationRequested, (await spoke.Store.GetAsync(id, Ct)).Status);
        await spoke.Store.AnswerAsync("t", new AnswerInformationRequestRequest { ConsultationId = id, RequestId = "second", Answer = "追加切片" }, Ct);
        await spoke.Outbox.MarkDeliveredAsync(await spoke.Outbox.DueAsync(10, Ct), Ct);
        // Once the answers are delivered, the hub's statuses apply as they come.
        await spoke.Feed.ApplyAsync(Status(7, id, ConsultationStatus.InformationRequested), Ct);
        Assert.Equal(ConsultationStatus.InformationRequested, (await spoke.Store.GetAsync(id, Ct)).Status);

        await spoke.Feed.ApplyAsync(Report(8, id, 1), Ct);
        var acknowledged = await spoke.Store.AcknowledgeAsync("t", new AcknowledgeReportRequest { ConsultationId = id }, Ct);
        Assert.Equal(ConsultationStatus.Acknowledged, acknowledged.Status);
        // The report's own REPORTED status arrives after the acknowledgement was made here: the acknowledgement stays.
        await spoke.Feed.ApplyAsync(Status(9, id, ConsultationStatus.Reported), Ct);
        var kept = await spoke.Store.GetAsync(id, Ct);
        Assert.Equal((ConsultationStatus.Acknowledged, 1), (kept.Status, kept.AcknowledgedVersion));
        Assert.Contains(await spoke.Outbox.DueAsync(10, Ct), e => e.Kind == RareCancerNetwork.Spoke.Store.LocalConsultationStore.AcknowledgeKind);
    }

    /// <summary>Data queries from the feed: a closing replaces what the spoke holds; a replayed raising never reopens it.</summary>
    [Fact]
    public async Task Apply_DataQueryRaisedThenClosed_AReplayedRaisingDoesNotReopenIt_AndAWithdrawnRecordsQueryIsSkipped()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        using var signal = new RareCancerNetwork.Spoke.Outbox.OutboxSignal();
        var registry = new RareCancerNetwork.Spoke.Registry.LocalRegistryStore(spoke.Database, spoke.Pseudonymizer, signal, TimeProvider.System);
        var queries = new RareCancerNetwork.Spoke.Registry.LocalDataQueryStore(spoke.Database, signal, TimeProvider.System);
        var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record();
        await registry.CreateAsync("CORE-004", "t", "DQ-FEED", record, Ct);
        var raised = new DataQuery
        {
            QueryId = Guid.CreateVersion7().ToString(), RecordId = record.RecordId, FacilityCode = "CORE-004", Field = "ecog", Question = "ECOG を確認してください",
            RecordVersion = 1, RaisedBy = "dm", RaisedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), State = DataQueryState.Open,
        };
        var closed = raised.Clone();
        closed.State = DataQueryState.Closed;
        closed.Resolution = DataQueryResolution.Confirmed;

        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(new SubscribeEventsResponse { Sequence = 1, DataQueryRaised = raised }, Ct));
        Assert.Equal(DataQueryState.Open, Assert.Single((await queries.ListAsync(false, "", 50, "", Ct)).Page).Query.State);
        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(new SubscribeEventsResponse { Sequence = 2, DataQueryClosed = closed }, Ct));
        // The hub resent its feed from an older cursor: the raising again, under a new sequence.
        Assert.Equal(FeedApplyResult.Applied, await spoke.Feed.ApplyAsync(new SubscribeEventsResponse { Sequence = 3, DataQueryRaised = raised }, Ct));
        var held = Assert.Single((await queries.ListAsync(false, "", 50, "", Ct)).Page);
        Assert.Equal((DataQueryState.Closed, DataQueryResolution.Confirmed, "DQ-FEED"), (held.Query.State, held.Query.Resolution, held.LocalPatientId));

        var unknown = raised.Clone();
        unknown.QueryId = Guid.CreateVersion7().ToString();
        unknown.RecordId = Guid.CreateVersion7().ToString();
        Assert.Equal(FeedApplyResult.UnknownRegistryRecord, await spoke.Feed.ApplyAsync(new SubscribeEventsResponse { Sequence = 4, DataQueryRaised = unknown }, Ct));
        Assert.Equal(4, await spoke.Feed.CursorAsync(Ct));
    }

    [Fact]
    public async Task Apply_AlteredReport_IsNotStored_UnknownConsultation_IsSkipped_CursorStillAdvances()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        var altered = Report(5, id, 1);
        altered.ReportIssued.Comment = "書き換え";
        Assert.Equal(FeedApplyResult.ReportDigestMismatch, await spoke.Feed.ApplyAsync(altered, Ct));
        Assert.Empty((await spoke.Store.GetAsync(id, Ct)).Reports);
        Assert.Equal(FeedApplyResult.UnknownConsultation, await spoke.Feed.ApplyAsync(Status(6, Guid.CreateVersion7().ToString(), ConsultationStatus.Assigned), Ct));
        Assert.Equal(6, await spoke.Feed.CursorAsync(Ct));
    }

    private static SubscribeEventsResponse Status(long sequence, string id, ConsultationStatus status) =>
        new() { Sequence = sequence, ConsultationId = id, OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), StatusChanged = new() { Status = status } };

    private static SubscribeEventsResponse Asked(long sequence, string id, string requestId) => new()
    {
        Sequence = sequence, ConsultationId = id, OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        InformationRequested = new InformationRequest
        {
            RequestId = requestId, Question = "追加の免疫染色をお願いします", AskedByExpertId = "sato", AskedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        },
    };

    private static SubscribeEventsResponse Report(long sequence, string id, int version)
    {
        var report = new ConsultationReport
        {
            ConsultationId = id,
            Version = version,
            Diagnosis = new Diagnosis { Text = "高分化型脂肪肉腫", MorphologyCode = "8851/3" },
            Concordance = Concordance.Concordant,
            SignedByExpertId = "sato",
            SignedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        report.ContentSha256 = ReportDigest.Compute(report);
        return new() { Sequence = sequence, ConsultationId = id, OccurredAt = report.SignedAt, ReportIssued = report };
    }
}
