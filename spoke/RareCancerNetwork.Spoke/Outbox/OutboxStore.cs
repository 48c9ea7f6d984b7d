using Google.Protobuf;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>One queued message for the hub.</summary>
/// <param name="OrderingKey">Entries with the same key are delivered in order (one record; the audit chain); others are independent.</param>
public sealed record OutboxEntry(long OutboxId, string Kind, string AggregateId, string OrderingKey, byte[] Payload, int Attempts,
    DateTimeOffset CreatedAt = default, string? TraceParent = null);

/// <summary>An entry an operator must look at: parked after repeated failures, with the hub's last answer.</summary>
public sealed record ParkedEntry(long OutboxId, string Kind, string AggregateId, int Attempts, string Reason, DateTimeOffset ParkedAt);

/// <summary>The outbox at a glance, for the status command.</summary>
public sealed record OutboxStatus(int Pending, DateTimeOffset? OldestPendingAt, int Refused, DateTimeOffset? LastDeliveredAt, IReadOnlyList<ParkedEntry> Parked);

/// <summary>
/// The outbox table: entries are enqueued inside the transaction that creates the record, then marked
/// delivered, refused for good, or failed (retried later, parked after repeated failures) together with
/// the record's delivery state.
/// </summary>
public sealed class OutboxStore(SpokeDatabase database, TimeProvider clock)
{
    public const string DeliverConsultationKind = "deliver_consultation";
    public const string ForwardAuditKind = "forward_audit";

    /// <summary>The audit chain is one ordered stream: the hub checks each entry's link to the previous one.</summary>
    public const string AuditOrderingKey = "audit";

    /// <summary>The audit log's append hook: queue the entry for the hub in the same transaction.</summary>
    public static Task EnqueueAuditEntryAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, AuditEntry entry, CancellationToken cancellationToken) =>
        EnqueueAsync(connection, transaction, ForwardAuditKind, entry.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), AuditOrderingKey,
            entry.ToByteArray(), entry.OccurredAt.ToDateTimeOffset(), cancellationToken);

    public static async Task EnqueueAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string kind, string aggregateId, string orderingKey,
        byte[] payload, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var statements = new StatementCache(connection, transaction);
        await EnqueueAsync(statements, kind, aggregateId, orderingKey, payload, now, cancellationToken);
    }

    /// <summary>Queues an entry in the caller's unit of work (a batch reuses the compiled statement).</summary>
    public static Task EnqueueAsync(StatementCache statements, string kind, string aggregateId, string orderingKey, byte[] payload, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        InsertAsync(statements, kind, aggregateId, orderingKey, payload, null, now, cancellationToken);

    /// <summary>
    /// Queues a registry version for the hub by naming its history row (<c>registry_record_versions</c>, the record and its
    /// entry number): the bytes sent are that row's, read when the entry is due, so the spoke keeps them once.
    /// </summary>
    public static Task EnqueueRegistryVersionAsync(StatementCache statements, string recordId, long versionEntry, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        InsertAsync(statements, Registry.LocalRegistryStore.DeliverKind, recordId, Registry.LocalRegistryStore.OrderingKey(recordId), [], versionEntry, now,
            cancellationToken);

    private static async Task InsertAsync(StatementCache statements, string kind, string aggregateId, string orderingKey, byte[] payload, long? registryVersionEntry,
        DateTimeOffset now, CancellationToken cancellationToken) =>
        await statements.Statement(
            """
            INSERT INTO outbox (kind, aggregate_id, ordering_key, payload, registry_version_entry, created_at, trace_parent)
            VALUES ($kind, $id, $key, $payload, $entry, $now, $trace)
            """)
            .With("$kind", kind).With("$id", aggregateId).With("$key", orderingKey).With("$payload", payload).With("$entry", registryVersionEntry)
            .With("$now", now.ToDbText()).With("$trace", System.Diagnostics.Activity.Current?.Id)
            .ExecuteNonQueryAsync(cancellationToken);

    /// <summary>One entry answered by the hub: delivered, or refused for good with the reason.</summary>
    public static async Task MarkEntryAsync(StatementCache statements, long outboxId, bool delivered, string? reason, string now, CancellationToken cancellationToken)
    {
        var outbox = statements.Statement(delivered
            ? "UPDATE outbox SET delivered_at = $now, attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL WHERE outbox_id = $id"
            : "UPDATE outbox SET failed_at = $now, attempts = attempts + 1, last_error = $reason, next_attempt_at = NULL WHERE outbox_id = $id")
            .With("$now", now).With("$id", outboxId);
        if (!delivered)
        {
            outbox.With("$reason", reason);
        }
        await outbox.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Takes every entry still queued under an ordering key out of delivery, with the reason (they continue a line
    /// the hub did not take, or the record is gone). The reason starts with "superseded", which the status leaves
    /// out of the refused count: nothing went wrong.
    /// </summary>
    public static async Task SupersedeAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string orderingKey, string reason,
        string now, CancellationToken cancellationToken)
    {
        await using var supersede = connection.Command(
            "UPDATE outbox SET failed_at = $now, last_error = $reason, next_attempt_at = NULL WHERE ordering_key = $key AND delivered_at IS NULL AND failed_at IS NULL",
            transaction).With("$now", now).With("$reason", reason).With("$key", orderingKey);
        await supersede.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An entry's bytes to send: its own payload, or for a registry version queued by name, its history row's (empty once withdrawn).</summary>
    private const string PayloadSql = "CASE WHEN o.registry_version_entry IS NULL THEN o.payload ELSE COALESCE(v.record, x'') END";

    private const string RegistryVersionJoinSql =
        "LEFT JOIN registry_record_versions v ON o.registry_version_entry IS NOT NULL AND v.record_id = o.aggregate_id AND v.entry = o.registry_version_entry";

    /// <summary>
    /// Entries due now, oldest first, leaving out those queued behind an entry of the same ordering key
    /// that is parked or waiting for its next attempt. Attached files are not among them: they stream on their own
    /// worker, so a slide of gigabytes never holds back a registry record.
    /// </summary>
    public Task<IReadOnlyList<OutboxEntry>> DueAsync(int limit, CancellationToken cancellationToken) => DueAsync(limit, 0, cancellationToken);

    /// <summary>The oldest entries due after <paramref name="afterOutboxId"/> (those before it are being delivered, or wait for the next look from the start).</summary>
    public async Task<IReadOnlyList<OutboxEntry>> DueAsync(int limit, long afterOutboxId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT o.outbox_id, o.kind, o.aggregate_id, o.ordering_key, {PayloadSql}, o.attempts, o.created_at, o.trace_parent FROM outbox o
            {RegistryVersionJoinSql}
            WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.parked_at IS NULL AND o.outbox_id > $after AND o.kind <> 'deliver_attachment'
              AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $now)
              AND NOT EXISTS (
                SELECT 1 FROM outbox e
                WHERE e.ordering_key = o.ordering_key AND e.outbox_id < o.outbox_id AND e.delivered_at IS NULL AND e.failed_at IS NULL
                  AND (e.parked_at IS NOT NULL OR e.next_attempt_at > $now))
            ORDER BY o.outbox_id LIMIT $limit
            """).With("$now", clock.GetUtcNow().ToDbText()).With("$after", afterOutboxId).With("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<OutboxEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), (byte[])reader[4], reader.GetInt32(5),
                reader.GetInstant(6), reader.GetNullableString(7)));
        }
        return entries;
    }

    /// <summary>When the earliest entry waiting for a later attempt becomes due, if any.</summary>
    public async Task<DateTimeOffset?> NextAttemptAtAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND parked_at IS NULL AND next_attempt_at IS NOT NULL");
        return await command.ExecuteScalarAsync(cancellationToken) is string text ? SqlCommands.ParseDbInstant(text) : null;
    }

    /// <summary>The hub confirmed the entries: mark them and their records in one transaction.</summary>
    public async Task MarkDeliveredAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var entry in entries)
            {
                await using (var outbox = connection.Command(
                    "UPDATE outbox SET delivered_at = $now, attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL WHERE outbox_id = $id", transaction)
                    .With("$now", now).With("$id", entry.OutboxId))
                {
                    await outbox.ExecuteNonQueryAsync(cancellationToken);
                }
                if (entry.Kind == DeliverConsultationKind)
                {
                    // The feed carries later statuses; here only SUBMITTED advances to RECEIVED.
                    await using var record = connection.Command(
                        """
                        UPDATE consultations SET delivery_state = $delivered, delivery_error = NULL, updated_at = $now,
                            status = CASE WHEN status = $submitted THEN $received ELSE status END
                        WHERE consultation_id = $id
                        """, transaction)
                        .With("$delivered", (int)DeliveryState.Delivered).With("$now", now).With("$submitted", (int)ConsultationStatus.Submitted)
                        .With("$received", (int)ConsultationStatus.Received).With("$id", entry.AggregateId);
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }, cancellationToken);
    }

    /// <summary>The hub refused the entries for good (invalid, forbidden, conflicting): kept with the reason, visible, not resent.</summary>
    public async Task MarkRefusedAsync(IReadOnlyList<OutboxEntry> entries, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var entry in entries)
            {
                await using (var outbox = connection.Command(
                    "UPDATE outbox SET failed_at = $now, attempts = attempts + 1, last_error = $reason, next_attempt_at = NULL WHERE outbox_id = $id", transaction)
                    .With("$now", now).With("$reason", reason).With("$id", entry.OutboxId))
                {
                    await outbox.ExecuteNonQueryAsync(cancellationToken);
                }
                await SetRecordStateAsync(connection, transaction, entry, DeliveryState.Rejected, reason, ConsultationStatus.Rejected, now, cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// The hub failed on the entries: try again after <paramref name="retryAfter"/>, or park them once they
    /// have failed <paramref name="parkAfterAttempts"/> times. Returns whether they were parked.
    /// </summary>
    public async Task<bool> RecordFailureAsync(IReadOnlyList<OutboxEntry> entries, string reason, TimeSpan retryAfter, int parkAfterAttempts,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var park = entries.Max(e => e.Attempts) + 1 >= parkAfterAttempts;
        await database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var entry in entries)
            {
                await using (var outbox = connection.Command(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $reason, next_attempt_at = $next, parked_at = $parked WHERE outbox_id = $id", transaction)
                    .With("$reason", reason).With("$next", park ? null : (now + retryAfter).ToDbText())
                    .With("$parked", park ? now.ToDbText() : null).With("$id", entry.OutboxId))
                {
                    await outbox.ExecuteNonQueryAsync(cancellationToken);
                }
                if (park)
                {
                    await SetRecordStateAsync(connection, transaction, entry, DeliveryState.Parked, reason, null, now.ToDbText(), cancellationToken);
                }
            }
        }, cancellationToken);
        return park;
    }

    /// <summary>An operator sends parked entries again (one, or all when <paramref name="outboxId"/> is null). Returns how many.</summary>
    public async Task<int> ResendParkedAsync(long? outboxId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        return await database.WriteAsync<int>(async (connection, transaction) =>
        {
            var parked = new List<OutboxEntry>();
            await using (var select = connection.Command(
                "SELECT outbox_id, kind, aggregate_id, ordering_key, attempts FROM outbox WHERE parked_at IS NOT NULL AND ($id IS NULL OR outbox_id = $id)", transaction)
                .With("$id", outboxId))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    parked.Add(new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), [], reader.GetInt32(4)));
                }
            }
            foreach (var entry in parked)
            {
                await using (var update = connection.Command(
                    "UPDATE outbox SET parked_at = NULL, next_attempt_at = NULL, attempts = 0 WHERE outbox_id = $id", transaction).With("$id", entry.OutboxId))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken);
                }
                await SetRecordStateAsync(connection, transaction, entry, DeliveryState.Pending, null, null, now, cancellationToken);
            }
            return parked.Count;
        }, cancellationToken);
    }

    /// <summary>Entries acknowledged this long before the restore point are sent again too: the spoke's clock and the hub's may differ.</summary>
    public static readonly TimeSpan RedeliveryMargin = TimeSpan.FromHours(1);

    /// <summary>
    /// The hub was restored to an earlier point: put every entry it acknowledged after it (less <see cref="RedeliveryMargin"/>)
    /// back in the queue, in their order, with their records shown pending again; once per request. Returns how many entries,
    /// or null when this request was acted on before.
    /// </summary>
    public async Task<int?> RedeliverAsync(RedeliveryRequest request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        var since = (request.RestoredTo.ToDateTimeOffset() - RedeliveryMargin).ToDbText();
        return await database.WriteAsync<int?>(async (connection, transaction) =>
        {
            await using (var seen = connection.Command("SELECT 1 FROM redeliveries WHERE request_id = $id", transaction).With("$id", request.RequestId))
            {
                if (await seen.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    return null;
                }
            }
            // The records first, while their entries still show what was delivered when.
            await using (var consultations = connection.Command(
                """
                UPDATE consultations SET delivery_state = $pending, updated_at = $now
                WHERE consultation_id IN (SELECT aggregate_id FROM outbox WHERE kind = $kind AND delivered_at >= $since)
                """, transaction).With("$pending", (int)DeliveryState.Pending).With("$now", now).With("$kind", DeliverConsultationKind).With("$since", since))
            {
                await consultations.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var registry = connection.Command(
                """
                UPDATE registry_records SET sync_state = $pending
                WHERE sync_state = $synchronised AND record_id IN (SELECT aggregate_id FROM outbox WHERE kind = $kind AND delivered_at >= $since)
                """, transaction).With("$pending", (int)RegistrySyncState.Pending).With("$synchronised", (int)RegistrySyncState.Synchronised)
                .With("$kind", Registry.LocalRegistryStore.DeliverKind).With("$since", since))
            {
                await registry.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var files = connection.Command(
                """
                UPDATE attachment_deliveries SET hub_received_bytes = 0, hub_complete = 0, updated_at = $now
                WHERE 'attachment:' || consultation_id || ':' || sha256 IN (SELECT ordering_key FROM outbox WHERE kind = $kind AND delivered_at >= $since)
                """, transaction).With("$now", now).With("$kind", Attachments.LocalAttachmentStore.DeliverKind).With("$since", since))
            {
                await files.ExecuteNonQueryAsync(cancellationToken);
            }
            int entries;
            await using (var requeue = connection.Command(
                "UPDATE outbox SET delivered_at = NULL, next_attempt_at = NULL, attempts = 0, last_error = NULL WHERE delivered_at >= $since", transaction)
                .With("$since", since))
            {
                entries = await requeue.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var done = connection.Command(
                "INSERT INTO redeliveries (request_id, restored_to, acted_at, entries) VALUES ($id, $to, $now, $entries)", transaction)
                .With("$id", request.RequestId).With("$to", request.RestoredTo.ToDateTimeOffset().ToDbText()).With("$now", now).With("$entries", entries))
            {
                await done.ExecuteNonQueryAsync(cancellationToken);
            }
            return entries;
        }, cancellationToken);
    }

    // Each part reads an index of the entries it is about (migration 0021), not the whole outbox, which keeps every delivered entry.
    // The oldest pending entry is the first queued of them (ids follow the order of queuing): one row, where MIN(created_at)
    // read every pending row, a million of them 1 GB of payloads after a site's first load.
    internal const string StatusCountsSql =
        """
        SELECT (SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND parked_at IS NULL),
               (SELECT created_at FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND parked_at IS NULL ORDER BY outbox_id LIMIT 1),
               (SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL AND (last_error IS NULL OR last_error NOT LIKE 'superseded%')),
               (SELECT MAX(delivered_at) FROM outbox WHERE delivered_at IS NOT NULL)
        """;

    internal const string ParkedSql =
        "SELECT outbox_id, kind, aggregate_id, attempts, COALESCE(last_error, ''), parked_at FROM outbox WHERE parked_at IS NOT NULL ORDER BY outbox_id";

    public async Task<OutboxStatus> StatusAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        int pending, refused;
        DateTimeOffset? oldest, lastDelivered;
        await using (var counts = connection.Command(StatusCountsSql))
        await using (var reader = await counts.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            pending = reader.GetInt32(0);
            oldest = reader.GetNullableInstant(1);
            refused = reader.GetInt32(2);
            lastDelivered = reader.GetNullableInstant(3);
        }
        var parked = new List<ParkedEntry>();
        await using (var select = connection.Command(ParkedSql))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                parked.Add(new ParkedEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4), reader.GetInstant(5)));
            }
        }
        return new OutboxStatus(pending, oldest, refused, lastDelivered, parked);
    }

    private static async Task SetRecordStateAsync(SqliteConnection connection, SqliteTransaction transaction, OutboxEntry entry, DeliveryState state,
        string? reason, ConsultationStatus? status, string now, CancellationToken cancellationToken)
    {
        if (entry.Kind is LocalConsultationStore.WithdrawKind or LocalConsultationStore.AcknowledgeKind or LocalConsultationStore.AnswerKind
            && state == DeliveryState.Rejected)
        {
            // A closing or an answer the hub refused (a report came first, a newer version arrived): the consultation itself stays delivered;
            // the reason is shown with it, and its status comes from the hub's feed.
            await using var refused = connection.Command("UPDATE consultations SET delivery_error = $reason, updated_at = $now WHERE consultation_id = $id", transaction)
                .With("$reason", reason).With("$now", now).With("$id", entry.AggregateId);
            await refused.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        if (entry.Kind == Registry.LocalRegistryStore.DeliverKind && state is DeliveryState.Parked or DeliveryState.Pending)
        {
            // A registry version parked shows as parked (with the hub's last answer) until it is sent again.
            var (to, from) = state == DeliveryState.Parked ? (RegistrySyncState.Parked, RegistrySyncState.Pending) : (RegistrySyncState.Pending, RegistrySyncState.Parked);
            await using var registry = connection.Command(
                "UPDATE registry_records SET sync_state = $to, sync_error = $reason WHERE record_id = $id AND sync_state = $from", transaction)
                .With("$to", (int)to).With("$reason", reason).With("$id", entry.AggregateId).With("$from", (int)from);
            await registry.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        if (entry.Kind != DeliverConsultationKind)
        {
            return;
        }
        await using var record = connection.Command(
            """
            UPDATE consultations SET delivery_state = $state, delivery_error = $reason, updated_at = $now, status = COALESCE($status, status)
            WHERE consultation_id = $id
            """, transaction)
            .With("$state", (int)state).With("$reason", reason).With("$now", now).With("$status", status is null ? null : (int)status.Value)
            .With("$id", entry.AggregateId);
        await record.ExecuteNonQueryAsync(cancellationToken);
    }
}
