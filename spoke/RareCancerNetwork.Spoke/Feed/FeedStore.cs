using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Spoke.Referrals;
using RareCancerNetwork.Spoke.Registry;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Feed;

/// <summary>What applying one feed event did, for logging.</summary>
public enum FeedApplyResult
{
    Applied,
    UnknownConsultation,
    ReportDigestMismatch,
    /// <summary>A data query on a record the spoke no longer holds (consent withdrawn here first).</summary>
    UnknownRegistryRecord,
}

/// <summary>
/// Applies hub feed events to the spoke's store. Events and the cursor that moves past the last of them commit
/// in one transaction: after a crash the feed resumes exactly after the last applied event.
/// </summary>
public sealed class FeedStore(SpokeDatabase database, IOptions<SpokeOptions> options, TimeProvider clock)
{
    public async Task<long> CursorAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT after_sequence FROM feed_cursor WHERE id = 1");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<FeedApplyResult> ApplyAsync(SubscribeEventsResponse @event, CancellationToken cancellationToken) =>
        (await ApplyAllAsync([@event], cancellationToken))[0];

    /// <summary>Events in feed order, in one transaction with the cursor past the last: all of them are applied, or none.</summary>
    public async Task<IReadOnlyList<FeedApplyResult>> ApplyAllAsync(IReadOnlyList<SubscribeEventsResponse> events, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            var results = new List<FeedApplyResult>(events.Count);
            foreach (var @event in events)
            {
                // The cursor moves first: when it is already past this event (a replay after reconnect), nothing changes.
                await using (var cursor = connection.Command(
                    "UPDATE feed_cursor SET after_sequence = $sequence, updated_at = $now WHERE id = 1 AND after_sequence < $sequence", transaction)
                    .With("$sequence", @event.Sequence).With("$now", now))
                {
                    if (await cursor.ExecuteNonQueryAsync(cancellationToken) == 0)
                    {
                        results.Add(FeedApplyResult.Applied);
                        continue;
                    }
                }
                results.Add(await ApplyChangeAsync(connection, transaction, @event, options.Value.NodeId, now, cancellationToken));
            }
            return results;
        }, cancellationToken);
    }

    private static async Task<FeedApplyResult> ApplyChangeAsync(SqliteConnection connection, SqliteTransaction transaction,
        SubscribeEventsResponse @event, string nodeId, string now, CancellationToken cancellationToken)
    {
        switch (@event.EventCase)
        {
            case SubscribeEventsResponse.EventOneofCase.ReferralChanged:
                await LocalReferralStore.ApplyAsync(connection, transaction, @event.ReferralChanged.Referral, nodeId, now, cancellationToken);
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.DirectoryChanged:
                // The copy was brought up to the announced version before this event was applied (DirectorySync).
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.DataQueryRaised or SubscribeEventsResponse.EventOneofCase.DataQueryClosed:
                return await LocalDataQueryStore.ApplyAsync(connection, transaction, @event.DataQueryRaised ?? @event.DataQueryClosed, now, cancellationToken)
                    ? FeedApplyResult.Applied
                    : FeedApplyResult.UnknownRegistryRecord;
        }
        await using (var exists = connection.Command("SELECT 1 FROM consultations WHERE consultation_id = $id", transaction).With("$id", @event.ConsultationId))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return FeedApplyResult.UnknownConsultation;
            }
        }
        switch (@event.EventCase)
        {
            case SubscribeEventsResponse.EventOneofCase.QueuePositionChanged:
                await using (var place = connection.Command("UPDATE consultations SET queue_position = $position, updated_at = $now WHERE consultation_id = $id", transaction)
                    .With("$position", @event.QueuePositionChanged.Position).With("$now", now).With("$id", @event.ConsultationId))
                {
                    await place.ExecuteNonQueryAsync(cancellationToken);
                }
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.StepRecorded:
                await LocalConsultationStore.ApplyStepAsync(connection, transaction, @event.ConsultationId, @event.StepRecorded, cancellationToken);
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.InformationRequested:
                await LocalConsultationStore.ApplyInformationRequestAsync(connection, transaction, @event.ConsultationId, @event.InformationRequested, cancellationToken);
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.StatusChanged:
                // An event from the hub proves delivery even if the delivery answer was lost. A change made here that has not reached
                // the hub yet is not undone by a status the hub sent before it knew: a withdrawal stays (a report that came first is
                // the one answer that still wins: the hub will refuse the withdrawal), an acknowledgement stays against REPORTED, and
                // an answer stays against INFORMATION_REQUESTED unless a request is still unanswered here (the hub asked again).
                await using (var update = connection.Command(
                    """
                    UPDATE consultations SET
                        status = CASE
                            WHEN status = $withdrawn AND $status NOT IN ($withdrawn, $reported, $acknowledged) AND EXISTS (
                                SELECT 1 FROM outbox o WHERE o.ordering_key = $key AND o.kind = $withdrawKind AND o.delivered_at IS NULL AND o.failed_at IS NULL)
                                THEN status
                            WHEN status = $acknowledged AND $status = $reported AND EXISTS (
                                SELECT 1 FROM outbox o WHERE o.ordering_key = $key AND o.kind = $acknowledgeKind AND o.delivered_at IS NULL AND o.failed_at IS NULL)
                                THEN status
                            WHEN status <> $informationRequested AND $status = $informationRequested AND EXISTS (
                                SELECT 1 FROM outbox o WHERE o.ordering_key = $key AND o.kind = $answerKind AND o.delivered_at IS NULL AND o.failed_at IS NULL)
                                AND NOT EXISTS (SELECT 1 FROM consultation_information_requests q WHERE q.consultation_id = $id AND q.answered_at IS NULL)
                                THEN status
                            ELSE $status END,
                        delivery_state = $delivered, delivery_error = NULL, updated_at = $now
                    WHERE consultation_id = $id
                    """, transaction)
                    .With("$status", (int)@event.StatusChanged.Status).With("$delivered", (int)DeliveryState.Delivered)
                    .With("$withdrawn", (int)ConsultationStatus.Withdrawn).With("$reported", (int)ConsultationStatus.Reported)
                    .With("$acknowledged", (int)ConsultationStatus.Acknowledged).With("$informationRequested", (int)ConsultationStatus.InformationRequested)
                    .With("$withdrawKind", LocalConsultationStore.WithdrawKind).With("$acknowledgeKind", LocalConsultationStore.AcknowledgeKind)
                    .With("$answerKind", LocalConsultationStore.AnswerKind).With("$key", LocalConsultationStore.OrderingKey(@event.ConsultationId))
                    .With("$now", now).With("$id", @event.ConsultationId))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken);
                }
                return FeedApplyResult.Applied;
            case SubscribeEventsResponse.EventOneofCase.ReportIssued:
                var report = @event.ReportIssued;
                if (report.ConsultationId != @event.ConsultationId || !ReportDigest.Verify(report))
                {
                    return FeedApplyResult.ReportDigestMismatch;
                }
                await using (var insert = connection.Command(
                    "INSERT OR IGNORE INTO consultation_reports (consultation_id, version, report, received_at) VALUES ($id, $version, $report, $now)", transaction)
                    .With("$id", report.ConsultationId).With("$version", report.Version).With("$report", Google.Protobuf.MessageExtensions.ToByteArray(report)).With("$now", now))
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                // A report means the consultation is reported, whatever order the status event arrives in.
                await using (var touch = connection.Command(
                    "UPDATE consultations SET status = $reported, delivery_state = $delivered, updated_at = $now WHERE consultation_id = $id", transaction)
                    .With("$reported", (int)ConsultationStatus.Reported).With("$delivered", (int)DeliveryState.Delivered)
                    .With("$now", now).With("$id", report.ConsultationId))
                {
                    await touch.ExecuteNonQueryAsync(cancellationToken);
                }
                return FeedApplyResult.Applied;
            default:
                // An event kind from a newer hub: skip it rather than stall the feed.
                return FeedApplyResult.Applied;
        }
    }
}
