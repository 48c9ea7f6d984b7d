using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using System.Data.Common;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Audit;

/// <summary>What happened, before it is placed in the chain.</summary>
public sealed record AuditRecord(string EventType, string Action, string Outcome, string Event, string UserId, string UserRole,
    string SourceAddress, string ObjectType, string ObjectId, string Detail);

/// <summary>Result of walking a chain: fine, or the first broken entry and why.</summary>
public sealed record AuditVerification(long EntriesChecked, long? FirstBrokenSequence, string? Problem)
{
    public bool Intact => FirstBrokenSequence is null;
}

/// <summary>
/// A node's tamper-evident audit trail in its own database: each entry carries the SHA-256 of the
/// previous one, sequences have no gaps, and triggers refuse UPDATE and DELETE. Appends are
/// serializable transactions on the sequence's primary key, so the chain never forks, even with
/// several hub instances appending to one PostgreSQL database.
/// </summary>
public sealed class AuditLog(IRelationalStore database, string nodeId, TimeProvider clock, AuditLog.AppendHook? onAppended = null)
{
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>Runs inside the append transaction (a spoke queues the entry for forwarding there).</summary>
    public delegate Task AppendHook(DbConnection connection, DbTransaction transaction, AuditEntry entry, CancellationToken cancellationToken);

    public const string Columns =
        "sequence, entry_id, occurred_at, event_type, action, outcome, event, user_id, user_role, node_id, source_address, object_type, object_id, detail, previous_hash, entry_hash";

    public string NodeId => nodeId;

    internal IRelationalStore Store => database;

    public async Task<AuditEntry> AppendAsync(AuditRecord record, CancellationToken cancellationToken) =>
        (await AppendAllAsync([record], cancellationToken))[0];

    /// <summary>Several entries in order, in one transaction (a batched call's entries, one per object it carried).</summary>
    public Task<List<AuditEntry>> AppendAllAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => AppendAllInAsync(connection, transaction, records, cancellationToken), cancellationToken);

    /// <summary>
    /// Several entries in order, inside a write transaction of this node's database that the caller runs (a change and its
    /// entry then commit together). That transaction is one of <see cref="IRelationalStore.WriteAsync"/>, which
    /// serialises it with every other append, so the chain does not fork.
    /// </summary>
    public async Task<List<AuditEntry>> AppendAllInAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records,
        CancellationToken cancellationToken)
    {
        // The chain's end is read once; each entry of the batch then links to the one before it.
        long sequence = 0;
        var previous = GenesisHash;
        await using (var last = connection.Command("SELECT sequence, entry_hash FROM audit_log ORDER BY sequence DESC LIMIT 1", transaction))
        await using (var reader = await last.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                sequence = reader.GetInt64(0);
                previous = reader.GetString(1);
            }
        }
        var entries = new List<AuditEntry>(records.Count);
        foreach (var record in records)
        {
            var entry = await AppendInAsync(connection, transaction, record, ++sequence, previous, cancellationToken);
            previous = entry.EntryHash;
            entries.Add(entry);
        }
        return entries;
    }

    private async Task<AuditEntry> AppendInAsync(DbConnection connection, DbTransaction transaction, AuditRecord record, long sequence, string previous,
        CancellationToken cancellationToken)
    {
        var entry = new AuditEntry
        {
            Sequence = sequence,
            EntryId = Guid.CreateVersion7().ToString(),
            OccurredAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
            EventType = record.EventType,
            Action = record.Action,
            Outcome = record.Outcome,
            Event = record.Event,
            UserId = record.UserId,
            UserRole = record.UserRole,
            NodeId = nodeId,
            SourceAddress = record.SourceAddress,
            ObjectType = record.ObjectType,
            ObjectId = record.ObjectId,
            Detail = record.Detail,
            PreviousHash = previous,
        };
        entry.EntryHash = Hash(entry);
        await InsertAsync(connection, transaction, "audit_log", entry, cancellationToken);
        if (onAppended is not null)
        {
            await onAppended(connection, transaction, entry, cancellationToken);
        }
        return entry;
    }

    /// <summary>How many entries the trail holds (its last sequence).</summary>
    public async Task<long> LengthAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COALESCE(MAX(sequence), 0) FROM audit_log");
        return await command.ScalarInt64Async(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditEntry>> ReadAsync(long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM audit_log WHERE sequence > @after ORDER BY sequence LIMIT @limit")
            .With("@after", afterSequence).With("@limit", limit);
        return await ReadEntriesAsync(command, cancellationToken);
    }

    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM audit_log ORDER BY sequence");
        return Verify(await ReadEntriesAsync(command, cancellationToken));
    }

    /// <summary>Walks entries in stored order and names the first that breaks the chain.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEntry> entries)
    {
        long expected = 1;
        var previous = GenesisHash;
        long checkedCount = 0;
        foreach (var entry in entries)
        {
            if (entry.Sequence != expected)
            {
                return new(checkedCount, entry.Sequence, $"entry {entry.Sequence}: expected sequence {expected} (an entry is missing or out of order)");
            }
            if (entry.PreviousHash != previous)
            {
                return new(checkedCount, entry.Sequence, $"entry {entry.Sequence}: does not link to entry {expected - 1} (an entry was removed, inserted or reordered)");
            }
            if (Hash(entry) != entry.EntryHash)
            {
                return new(checkedCount, entry.Sequence, $"entry {entry.Sequence}: its content does not match its hash (it was edited)");
            }
            previous = entry.EntryHash;
            expected++;
            checkedCount++;
        }
        return new(checkedCount, null, null);
    }

    public static string Hash(AuditEntry entry)
    {
        // Unit separator between fields: no field value can shift content into another field.
        var canonical = string.Join('\u001f', entry.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.EntryId,
            entry.OccurredAt.ToDateTimeOffset().ToDbText(), entry.EventType, entry.Action, entry.Outcome, entry.Event, entry.UserId,
            entry.UserRole, entry.NodeId, entry.SourceAddress, entry.ObjectType, entry.ObjectId, entry.Detail, entry.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    public static async Task InsertAsync(DbConnection connection, DbTransaction transaction, string table, AuditEntry entry,
        CancellationToken cancellationToken, string? extraColumn = null, string? extraValue = null)
    {
        await using var insert = connection.Command(
            $"""
            INSERT INTO {table} ({(extraColumn is null ? "" : extraColumn + ", ")}{Columns})
            VALUES ({(extraColumn is null ? "" : "@extra, ")}@sequence, @id, @at, @type, @action, @outcome, @event, @user, @role, @node, @source, @objectType, @objectId, @detail, @previous, @hash)
            """, transaction)
            .With("@extra", extraValue).With("@sequence", entry.Sequence).With("@id", entry.EntryId).With("@at", entry.OccurredAt.ToDateTimeOffset().ToDbText())
            .With("@type", entry.EventType).With("@action", entry.Action).With("@outcome", entry.Outcome).With("@event", entry.Event)
            .With("@user", entry.UserId).With("@role", entry.UserRole).With("@node", entry.NodeId).With("@source", entry.SourceAddress)
            .With("@objectType", entry.ObjectType).With("@objectId", entry.ObjectId).With("@detail", entry.Detail)
            .With("@previous", entry.PreviousHash).With("@hash", entry.EntryHash);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<List<AuditEntry>> ReadEntriesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry
            {
                Sequence = reader.GetInt64(0),
                EntryId = reader.GetString(1),
                OccurredAt = Timestamp.FromDateTimeOffset(reader.GetInstant(2)),
                EventType = reader.GetString(3),
                Action = reader.GetString(4),
                Outcome = reader.GetString(5),
                Event = reader.GetString(6),
                UserId = reader.GetString(7),
                UserRole = reader.GetString(8),
                NodeId = reader.GetString(9),
                SourceAddress = reader.GetString(10),
                ObjectType = reader.GetString(11),
                ObjectId = reader.GetString(12),
                Detail = reader.GetString(13),
                PreviousHash = reader.GetString(14),
                EntryHash = reader.GetString(15),
            });
        }
        return entries;
    }
}
