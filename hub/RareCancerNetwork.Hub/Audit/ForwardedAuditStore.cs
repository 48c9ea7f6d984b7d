using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Audit;

/// <summary>
/// Audit trails forwarded by spokes, kept per node for central review. Each entry's hash and its link
/// to the previous entry are checked on arrival, so a spoke cannot rewrite what it already forwarded.
/// </summary>
public sealed class ForwardedAuditStore(HubDatabase database)
{
    public Task<long> StoreAsync(string nodeId, IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var entry in entries)
            {
                if (entry.NodeId != nodeId)
                {
                    throw new AccessDeniedException($"Audit entry {entry.Sequence} was recorded by another node.");
                }
                if (AuditLog.Hash(entry) != entry.EntryHash)
                {
                    throw new PreconditionFailedException("AUDIT_HASH_MISMATCH", $"Audit entry {entry.Sequence} does not match its hash.");
                }
                await using (var existing = connection.Command("SELECT entry_hash FROM forwarded_audit_log WHERE origin_node_id = @node AND sequence = @sequence", transaction)
                    .With("@node", nodeId).With("@sequence", entry.Sequence))
                {
                    if (await existing.ExecuteScalarAsync(cancellationToken) is string stored)
                    {
                        if (stored != entry.EntryHash)
                        {
                            throw new ConflictException($"Audit entry {entry.Sequence} differs from the one forwarded before.");
                        }
                        continue;
                    }
                }
                var expectedPrevious = AuditLog.GenesisHash;
                if (entry.Sequence > 1)
                {
                    await using var previous = connection.Command("SELECT entry_hash FROM forwarded_audit_log WHERE origin_node_id = @node AND sequence = @sequence", transaction)
                        .With("@node", nodeId).With("@sequence", entry.Sequence - 1);
                    expectedPrevious = await previous.ExecuteScalarAsync(cancellationToken) as string
                        ?? throw new PreconditionFailedException("AUDIT_GAP", $"Audit entries before {entry.Sequence} have not arrived; forward them in order.");
                }
                if (entry.PreviousHash != expectedPrevious)
                {
                    throw new PreconditionFailedException("AUDIT_CHAIN_BROKEN", $"Audit entry {entry.Sequence} does not link to entry {entry.Sequence - 1}.");
                }
                await AuditLog.InsertAsync(connection, transaction, "forwarded_audit_log", entry, cancellationToken, "origin_node_id", nodeId);
            }
            await using var through = connection.Command("SELECT COALESCE(MAX(sequence), 0) FROM forwarded_audit_log WHERE origin_node_id = @node", transaction).With("@node", nodeId);
            return await through.ScalarInt64Async(cancellationToken);
        }, cancellationToken);

    /// <summary>Verifies every forwarded chain; the key is the origin node.</summary>
    public async Task<IReadOnlyDictionary<string, AuditVerification>> VerifyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var nodes = new List<string>();
        await using (var command = connection.Command("SELECT DISTINCT origin_node_id FROM forwarded_audit_log ORDER BY 1"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                nodes.Add(reader.GetString(0));
            }
        }
        var results = new Dictionary<string, AuditVerification>();
        foreach (var node in nodes)
        {
            await using var command = connection.Command(
                $"SELECT {AuditLog.Columns} FROM forwarded_audit_log WHERE origin_node_id = @node ORDER BY sequence").With("@node", node);
            results[node] = AuditLog.Verify(await AuditLog.ReadEntriesAsync(command, cancellationToken));
        }
        return results;
    }

    /// <summary>Access statistics over the hub's own trail and every forwarded one.</summary>
    public async Task<IReadOnlyList<AccessStatisticsRow>> StatisticsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT node_id, user_id, user_role, event_type, action, outcome, COUNT(*) FROM (
                SELECT node_id, user_id, user_role, event_type, action, outcome FROM audit_log WHERE occurred_at >= @from AND occurred_at < @to
                UNION ALL
                SELECT node_id, user_id, user_role, event_type, action, outcome FROM forwarded_audit_log WHERE occurred_at >= @from AND occurred_at < @to) AS trails
            GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 5, 6
            """).With("@from", from.ToDbText()).With("@to", to.ToDbText());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AccessStatisticsRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AccessStatisticsRow
            {
                NodeId = reader.GetString(0),
                UserId = reader.GetString(1),
                UserRole = reader.GetString(2),
                EventType = reader.GetString(3),
                Action = reader.GetString(4),
                Outcome = reader.GetString(5),
                Count = reader.GetInt64(6),
            });
        }
        return rows;
    }
}
