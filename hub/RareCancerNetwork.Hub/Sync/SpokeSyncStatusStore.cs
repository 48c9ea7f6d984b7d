using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Sync;

/// <summary>What each spoke last reported of its synchronisation, and how far behind its feed it is.</summary>
public sealed class SpokeSyncStatusStore(HubDatabase database, TimeProvider clock)
{
    public async Task<DateTimeOffset> RecordAsync(string nodeId, ReportSyncStatusRequest report, int contractVersion, int schemaVersion, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await database.WriteAsync(async (connection, transaction) =>
        {
            await using var upsert = connection.Command(
                """
                INSERT INTO spoke_sync_status (node_id, reported_at, outbox_pending, oldest_pending_at, refused, parked, feed_cursor, contract_version, schema_version,
                    audit_sequence)
                VALUES (@node, @now, @pending, @oldest, @refused, @parked, @cursor, @contract, @schema, @audit)
                ON CONFLICT (node_id) DO UPDATE SET reported_at = excluded.reported_at, outbox_pending = excluded.outbox_pending,
                    oldest_pending_at = excluded.oldest_pending_at, refused = excluded.refused, parked = excluded.parked, feed_cursor = excluded.feed_cursor,
                    contract_version = excluded.contract_version, schema_version = excluded.schema_version, audit_sequence = excluded.audit_sequence
                """, transaction)
                .With("@node", nodeId).With("@now", now.ToDbText()).With("@pending", report.OutboxPending)
                .With("@oldest", report.OldestPendingAt?.ToDateTimeOffset().ToDbText()).With("@refused", report.Refused).With("@parked", report.Parked)
                .With("@cursor", report.FeedCursor).With("@contract", contractVersion).With("@schema", schemaVersion)
                .With("@audit", report.AuditSequence);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return now;
    }

    /// <summary>Every registered, unrevoked spoke, in node-id order; one that never reported has no last contact.</summary>
    public async Task<IReadOnlyList<SpokeSyncStatus>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT n.node_id, n.facility_code, f.name_ja, f.region, s.reported_at, s.outbox_pending, s.oldest_pending_at, s.refused, s.parked,
                COALESCE(h.last_sequence, 0) - COALESCE(s.feed_cursor, 0), s.contract_version, s.schema_version,
                COALESCE(s.audit_sequence, 0) - COALESCE((SELECT MAX(a.sequence) FROM forwarded_audit_log a WHERE a.origin_node_id = n.node_id), 0)
            FROM spoke_nodes n JOIN facilities f ON f.facility_code = n.facility_code
            LEFT JOIN spoke_sync_status s ON s.node_id = n.node_id LEFT JOIN spoke_feed_heads h ON h.spoke_node_id = n.node_id
            WHERE n.revoked_at IS NULL ORDER BY n.node_id
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var spokes = new List<SpokeSyncStatus>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var status = new SpokeSyncStatus
            {
                NodeId = reader.GetString(0), FacilityCode = reader.GetString(1), FacilityNameJa = reader.GetString(2), Region = reader.GetString(3),
                RegionJa = Statistics.StatisticsLabels.Of(reader.GetString(3)).LabelJa,
                FeedBacklog = Math.Max(0, reader.GetInt64(9)),
            };
            if (reader.GetNullableInstant(4) is { } reported)
            {
                status.LastContact = Timestamp.FromDateTimeOffset(reported);
                status.OutboxPending = reader.GetInt64(5);
                status.Refused = reader.GetInt64(7);
                status.Parked = reader.GetInt64(8);
                status.ContractVersion = reader.GetInt32(10);
                status.SchemaVersion = reader.GetInt32(11);
                status.AuditForwardingLag = Math.Max(0, reader.GetInt64(12));
            }
            if (reader.GetNullableInstant(6) is { } oldest)
            {
                status.OldestPendingAt = Timestamp.FromDateTimeOffset(oldest);
            }
            spokes.Add(status);
        }
        return spokes;
    }
}
