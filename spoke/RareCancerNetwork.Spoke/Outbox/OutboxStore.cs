using Google.Protobuf;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>One queued message for the hub.</summary>
public sealed record OutboxEntry(long OutboxId, string Kind, string AggregateId, byte[] Payload, int Attempts);

/// <summary>
/// The outbox table: entries are enqueued inside the transaction that creates the record, then
/// marked delivered (or permanently refused) together with the record's delivery state.
/// </summary>
public sealed class OutboxStore(SpokeDatabase database, TimeProvider clock)
{
    public const string DeliverConsultationKind = "deliver_consultation";
    public const string ForwardAuditKind = "forward_audit";

    /// <summary>The audit log's append hook: queue the entry for the hub in the same transaction.</summary>
    public static Task EnqueueAuditEntryAsync(SqliteConnection connection, SqliteTransaction transaction, AuditEntry entry, CancellationToken cancellationToken) =>
        EnqueueAsync(connection, transaction, ForwardAuditKind, entry.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            entry.ToByteArray(), entry.OccurredAt.ToDateTimeOffset(), cancellationToken);

    public static async Task EnqueueAsync(SqliteConnection connection, SqliteTransaction transaction, string kind, string aggregateId,
        byte[] payload, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var insert = connection.Command(
            "INSERT INTO outbox (kind, aggregate_id, payload, created_at) VALUES ($kind, $id, $payload, $now)", transaction)
            .With("$kind", kind).With("$id", aggregateId).With("$payload", payload).With("$now", now.ToDbText());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The oldest undelivered entries, in the order they were written.</summary>
    public async Task<IReadOnlyList<OutboxEntry>> PendingAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT outbox_id, kind, aggregate_id, payload, attempts FROM outbox
            WHERE delivered_at IS NULL AND failed_at IS NULL
            ORDER BY outbox_id LIMIT $limit
            """).With("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<OutboxEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), (byte[])reader[3], reader.GetInt32(4)));
        }
        return entries;
    }

    public async Task<int> PendingCountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL");
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The hub confirmed the consultation: mark the entry and the record in one transaction.</summary>
    public async Task MarkConsultationDeliveredAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        await using (var outbox = connection.Command("UPDATE outbox SET delivered_at = $now, attempts = attempts + 1, last_error = NULL WHERE outbox_id = $id", transaction)
            .With("$now", now).With("$id", entry.OutboxId))
        {
            await outbox.ExecuteNonQueryAsync(cancellationToken);
        }
        // The feed carries later statuses; here only SUBMITTED advances to RECEIVED.
        await using (var record = connection.Command(
            """
            UPDATE consultations SET delivery_state = $delivered, delivery_error = NULL, updated_at = $now,
                status = CASE WHEN status = $submitted THEN $received ELSE status END
            WHERE consultation_id = $id
            """, transaction)
            .With("$delivered", (int)DeliveryState.Delivered).With("$now", now).With("$submitted", (int)ConsultationStatus.Submitted)
            .With("$received", (int)ConsultationStatus.Received).With("$id", entry.AggregateId))
        {
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Entries the hub confirmed that carry no local record state (forwarded audit entries).</summary>
    public async Task MarkDeliveredAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        foreach (var entry in entries)
        {
            await using var update = connection.Command("UPDATE outbox SET delivered_at = $now, attempts = attempts + 1, last_error = NULL WHERE outbox_id = $id", transaction)
                .With("$now", now).With("$id", entry.OutboxId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Entries the hub refused for good that carry no local record state: kept with the reason, never resent.</summary>
    public async Task MarkFailedAsync(IReadOnlyList<OutboxEntry> entries, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        foreach (var entry in entries)
        {
            await using var update = connection.Command("UPDATE outbox SET failed_at = $now, attempts = attempts + 1, last_error = $reason WHERE outbox_id = $id", transaction)
                .With("$now", now).With("$reason", reason).With("$id", entry.OutboxId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The hub refused it for good (invalid, forbidden, conflicting): keep it, visible to the user, never resent.</summary>
    public async Task MarkConsultationRejectedAsync(OutboxEntry entry, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        await using (var outbox = connection.Command("UPDATE outbox SET failed_at = $now, attempts = attempts + 1, last_error = $reason WHERE outbox_id = $id", transaction)
            .With("$now", now).With("$reason", reason).With("$id", entry.OutboxId))
        {
            await outbox.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var record = connection.Command(
            "UPDATE consultations SET delivery_state = $rejected, delivery_error = $reason, status = $status, updated_at = $now WHERE consultation_id = $id", transaction)
            .With("$rejected", (int)DeliveryState.Rejected).With("$reason", reason).With("$status", (int)ConsultationStatus.Rejected)
            .With("$now", now).With("$id", entry.AggregateId))
        {
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Records a failed attempt that will be retried (for operators: attempts and the last error).</summary>
    public async Task RecordFailedAttemptAsync(OutboxEntry entry, string error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("UPDATE outbox SET attempts = attempts + 1, last_error = $error WHERE outbox_id = $id")
            .With("$error", error).With("$id", entry.OutboxId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
