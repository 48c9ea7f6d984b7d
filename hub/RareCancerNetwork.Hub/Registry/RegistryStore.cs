using System.Data.Common;
using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>
/// The national registry at the hub. A delivered version is stored only if it replaces the record's
/// current version (or is the first the hub sees of the record); a version already held with the same
/// content is a duplicate; anything else is stale and answered with the hub's current version. A
/// batch is one transaction, and each record in it has its own outcome.
/// </summary>
public sealed class RegistryStore(HubDatabase database, EventFeed feed, TimeProvider clock)
{
    /// <inheritdoc cref="DeliverAsync(string, IReadOnlyList{RegistryRecord}, CallAudit?, CancellationToken)"/>
    public Task<IReadOnlyList<RegistryDeliveryResult>> DeliverAsync(string nodeId, IReadOnlyList<RegistryRecord> records, CancellationToken cancellationToken) =>
        DeliverAsync(nodeId, records, null, cancellationToken);

    /// <param name="nodeId">The delivering node.</param>
    /// <param name="records">Versions already validated, oldest first.</param>
    /// <param name="audit">The delivering call's audit entry (<see cref="HubDatabase.WriteDeliveryAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the batch; nothing of it is stored then.</param>
    public async Task<IReadOnlyList<RegistryDeliveryResult>> DeliverAsync(string nodeId, IReadOnlyList<RegistryRecord> records, CallAudit? audit,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // Encoded and hashed before the write, not in it: the single writer is the narrowest stage of a registry sync
        // (docs/benchmarks.md), and this work needs no lock.
        var encoded = records.Select(record =>
        {
            var bytes = record.ToByteArray();
            return new EncodedVersion(record, bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }).ToList();
        var (results, closedQueries) = await database.WriteDeliveryAsync(audit, async (connection, transaction) =>
        {
            // What the batch needs to know about its records is read once, not per record; each statement is
            // compiled once for the batch (the benchmark's bulk sync showed per-record lookups dominating).
            await using var statements = new StatementCache(connection, transaction);
            var batch = await BatchStateAsync(connection, transaction, database.Provider, records.Select(r => r.RecordId).Distinct().ToList(), cancellationToken);
            var facts = new RegistryFacts.Pending(database.Provider);
            var results = new List<RegistryDeliveryResult>(records.Count);
            var closedQueries = 0;
            foreach (var version in encoded)
            {
                var (result, closed) = await ApplyAsync(statements, batch, facts, nodeId, version, now, cancellationToken);
                results.Add(result);
                closedQueries += closed;
            }
            await facts.WriteAsync(statements, cancellationToken);
            // On PostgreSQL the batch's writes travel together (one round trip, not one per row), before the commit.
            await statements.FlushAsync(cancellationToken);
            return (results, closedQueries);
        }, cancellationToken);
        if (closedQueries > 0)
        {
            feed.Notify([nodeId]);
        }
        return results;
    }

    /// <summary>A delivered version with its stored encoding and that encoding's SHA-256 (hex), which tells a repeat from a different version.</summary>
    private sealed record EncodedVersion(RegistryRecord Record, byte[] Bytes, string Sha256);

    /// <summary>A batch's records as the registry holds them: withdrawn ones, current versions, and those with open data queries.</summary>
    private sealed record BatchState(HashSet<string> Withdrawn, Dictionary<string, (string NodeId, RegistryRecord Record)> Current, HashSet<string> WithOpenQueries);

    // What a batch reads about its records, "IN (@ids)" standing for the batch's ids (AmongIds).
    internal const string WithdrawnAmongSql = "SELECT record_id FROM registry_withdrawals WHERE record_id IN (@ids)";
    internal const string CurrentAmongSql = $"SELECT r.record_id, r.spoke_node_id, v.record FROM registry_records r {CurrentBytes} WHERE r.record_id IN (@ids)";

    /// <summary>
    /// A record's current bytes are its current version's row (the bytes are kept once): join this to <c>registry_records r</c>
    /// and read <c>v.record</c>.
    /// </summary>
    internal const string CurrentBytes = "JOIN registry_record_versions v ON v.record_id = r.record_id AND v.version = r.version";
    internal static readonly string OpenQueriesAmongSql =
        $"SELECT DISTINCT record_id FROM registry_data_queries WHERE state = {(int)DataQueryState.Open} AND record_id IN (@ids)";

    /// <summary><paramref name="sql"/> with its "IN (@ids)" written for the store: the ids as one parameter.</summary>
    internal static string AmongIds(string sql, HubStorageProvider provider) =>
        sql.Replace("IN (@ids)", provider == HubStorageProvider.Postgres ? "= ANY(@ids)" : "IN (SELECT value FROM json_each(@ids))", StringComparison.Ordinal);

    private static async Task<BatchState> BatchStateAsync(DbConnection connection, DbTransaction transaction, HubStorageProvider provider, List<string> ids,
        CancellationToken cancellationToken)
    {
        var state = new BatchState([], new(StringComparer.Ordinal), []);
        // The batch's ids travel as one parameter (a JSON array on SQLite, an array on PostgreSQL), so each statement's text is
        // the same for every batch and compiled once: with one parameter per id, SQLite looked every name up along the whole
        // list (half a million string comparisons for a batch of 500) and the names were converted to UTF-8 each time.
        object value = provider == HubStorageProvider.Postgres ? ids.ToArray() : System.Text.Json.JsonSerializer.Serialize(ids);
        DbCommand Among(string sql) => connection.Command(AmongIds(sql, provider), transaction).With("@ids", value);
        await using (var withdrawn = Among(WithdrawnAmongSql))
        await using (var reader = await withdrawn.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                state.Withdrawn.Add(reader.GetString(0));
            }
        }
        await using (var current = Among(CurrentAmongSql))
        await using (var reader = await current.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                state.Current[reader.GetString(0)] = (reader.GetString(1), RegistryRecord.Parser.ParseFrom((byte[])reader[2]));
            }
        }
        if (state.Current.Count > 0)
        {
            await using var open = Among(OpenQueriesAmongSql);
            await using var reader = await open.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                state.WithOpenQueries.Add(reader.GetString(0));
            }
        }
        return state;
    }

    /// <summary>
    /// Records a withdrawal of consent: the tombstone (pseudonym, date, who) is kept, the record and every
    /// version of it are deleted. A repeat changes nothing.
    /// </summary>
    /// <returns>Whether the registry held the record until now.</returns>
    public Task<bool> WithdrawAsync(string nodeId, DeliverRegistryWithdrawalRequest withdrawal, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        return database.WriteAsync(async (connection, transaction) =>
        {
            var current = await CurrentAsync(connection, transaction, withdrawal.RecordId, cancellationToken);
            if (current is { } held && held.NodeId != nodeId)
            {
                throw new AccessDeniedException($"Record {withdrawal.RecordId} belongs to another spoke node.");
            }
            await using (var tombstone = connection.Command(
                """
                INSERT INTO registry_withdrawals (record_id, patient_pseudonym, withdrawn_on, recorded_by, recorded_at)
                VALUES (@id, @pseudonym, @on, @by, @now) ON CONFLICT (record_id) DO NOTHING
                """, transaction)
                .With("@id", withdrawal.RecordId).With("@pseudonym", current?.Record.PatientPseudonym ?? withdrawal.PatientPseudonym)
                .With("@on", withdrawal.WithdrawnOn).With("@by", withdrawal.RecordedBy).With("@now", now))
            {
                await tombstone.ExecuteNonQueryAsync(cancellationToken);
            }
            if (current is null)
            {
                return false;
            }
            await DataQueryStore.DeleteForRecordAsync(connection, transaction, withdrawal.RecordId, cancellationToken);
            await RegistryFacts.DeleteAsync(connection, transaction, withdrawal.RecordId, cancellationToken);
            // The versions first: the tombstone above is what lets their guard allow it.
            await using (var versions = connection.Command("DELETE FROM registry_record_versions WHERE record_id = @id", transaction).With("@id", withdrawal.RecordId))
            {
                await versions.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var record = connection.Command("DELETE FROM registry_records WHERE record_id = @id", transaction).With("@id", withdrawal.RecordId))
            {
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            return true;
        }, cancellationToken);
    }

    /// <summary>A page of the records whose patients consented to secondary use, in record-id order.</summary>
    public async Task<(IReadOnlyList<RegistryRecord> Page, string NextPageToken)> SecondaryUsePageAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var (_, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT r.record_id, v.record FROM registry_records r {CurrentBytes} WHERE r.secondary_use = 1 AND (@after IS NULL OR r.record_id > @after) ORDER BY r.record_id LIMIT @limit")
            .With("@after", afterId).With("@limit", pageSize + 1);
        return await RecordPageAsync(command, pageSize, cancellationToken);
    }

    private static async Task<(IReadOnlyList<RegistryRecord> Page, string NextPageToken)> RecordPageAsync(DbCommand command, int pageSize, CancellationToken cancellationToken)
    {
        var rows = new List<(RegistryRecord Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((RegistryRecord.Parser.ParseFrom((byte[])reader[1]), "", reader.GetString(0)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    /// <summary>A page of current versions in record-id order, of one facility or all.</summary>
    public async Task<(IReadOnlyList<RegistryRecord> Page, string NextPageToken)> PageAsync(string facilityCode, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        var (_, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        // Two statements, not one with "@facility = '' OR": a facility's page then walks its index (facility, record id).
        await using var command = connection.Command(facilityCode.Length > 0
                ? $"SELECT r.record_id, v.record FROM registry_records r {CurrentBytes} WHERE r.facility_code = @facility AND r.record_id > @after ORDER BY r.facility_code, r.record_id LIMIT @limit"
                : $"SELECT r.record_id, v.record FROM registry_records r {CurrentBytes} WHERE r.record_id > @after ORDER BY r.record_id LIMIT @limit")
            .With("@after", afterId ?? "").With("@limit", pageSize + 1);
        if (facilityCode.Length > 0)
        {
            command.With("@facility", facilityCode);
        }
        return await RecordPageAsync(command, pageSize, cancellationToken);
    }

    /// <summary>The current version of a record, or null.</summary>
    public async Task<RegistryRecord?> GetAsync(string recordId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await CurrentAsync(connection, null, recordId, cancellationToken) is { } current ? current.Record : null;
    }

    /// <summary>Every version the hub accepted, oldest first.</summary>
    public async Task<IReadOnlyList<RegistryRecord>> VersionsAsync(string recordId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT record FROM registry_record_versions WHERE record_id = @id ORDER BY version").With("@id", recordId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<RegistryRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(RegistryRecord.Parser.ParseFrom((byte[])reader[0]));
        }
        return versions;
    }

    /// <returns>The record's outcome, and how many data queries the version closed (by changing their field).</returns>
    private static async Task<(RegistryDeliveryResult Result, int ClosedQueries)> ApplyAsync(StatementCache statements, BatchState batch, RegistryFacts.Pending facts, string nodeId,
        EncodedVersion version, DateTimeOffset instant, CancellationToken cancellationToken)
    {
        var (record, bytes, sha256) = (version.Record, version.Bytes, version.Sha256);
        var now = instant.ToDbText();
        var result = new RegistryDeliveryResult { RecordId = record.RecordId, Version = record.Version };
        if (batch.Withdrawn.Contains(record.RecordId))
        {
            result.Outcome = RegistryDeliveryOutcome.Refused;
            result.Message = $"Record {record.RecordId}: consent was withdrawn; the registry keeps nothing more of it.";
            return (result, 0);
        }
        (string NodeId, RegistryRecord Record)? current = batch.Current.TryGetValue(record.RecordId, out var held) ? held : null;
        if (current is { } owner && owner.NodeId != nodeId)
        {
            result.Outcome = RegistryDeliveryOutcome.Refused;
            result.Message = $"Record {record.RecordId} belongs to another spoke node.";
            return (result, 0);
        }
        if (current is not null && record.Version <= current.Value.Record.Version)
        {
            // The version may have been written earlier in this batch.
            await statements.FlushAsync(cancellationToken);
            var stored = statements.Statement("SELECT content_sha256 FROM registry_record_versions WHERE record_id = @id AND version = @version")
                .With("@id", record.RecordId).With("@version", record.Version);
            if (await stored.ExecuteScalarAsync(cancellationToken) as string == sha256)
            {
                result.Outcome = RegistryDeliveryOutcome.Duplicate;
                return (result, 0);
            }
        }
        if (current is not null && record.Version != current.Value.Record.Version + 1)
        {
            result.Outcome = RegistryDeliveryOutcome.Stale;
            result.Current = current.Value.Record;
            result.Message = $"Record {record.RecordId}: version {record.Version} replaces version {record.Version - 1}, but the registry holds version {current.Value.Record.Version}.";
            return (result, 0);
        }
        // The batch knows whether the registry holds the record: a plain insert for a new one (another instance
        // inserting it first is a unique violation, and the whole batch runs again), an update otherwise.
        await statements.WriteAsync(statements.Statement(current is null
            ? """
              INSERT INTO registry_records (record_id, spoke_node_id, facility_code, patient_pseudonym, version, enrolment_date, category, prefecture, secondary_use, updated_at)
              VALUES (@id, @node, @facility, @pseudonym, @version, @enrolled, @category, @prefecture, @secondaryUse, @now)
              """
            : """
              UPDATE registry_records SET version = @version, patient_pseudonym = @pseudonym, enrolment_date = @enrolled, category = @category,
                  prefecture = @prefecture, secondary_use = @secondaryUse, updated_at = @now
              WHERE record_id = @id AND spoke_node_id = @node AND facility_code = @facility
              """)
            .With("@id", record.RecordId).With("@node", nodeId).With("@facility", record.EnrollingFacilityCode).With("@pseudonym", record.PatientPseudonym)
            .With("@version", record.Version).With("@enrolled", record.EnrolmentDate).With("@category", (int)record.Diagnosis.Category)
            .With("@prefecture", record.Prefecture).With("@secondaryUse", record.Consent.SecondaryUse ? 1 : 0).With("@now", now),
            cancellationToken);
        await statements.WriteAsync(statements.Statement(
            "INSERT INTO registry_record_versions (record_id, version, content_sha256, record, received_at) VALUES (@id, @version, @sha256, @record, @now)")
            .With("@id", record.RecordId).With("@version", record.Version).With("@sha256", sha256).With("@record", bytes).With("@now", now), cancellationToken);
        await facts.ReplaceAsync(statements, record, replacing: current is not null, cancellationToken);
        // Later versions of the same record in this batch replace this one.
        batch.Current[record.RecordId] = (nodeId, record);
        result.Outcome = RegistryDeliveryOutcome.Stored;
        var closed = 0;
        if (current is { } replaced && batch.WithOpenQueries.Contains(record.RecordId))
        {
            // The data queries read this batch's writes.
            await statements.FlushAsync(cancellationToken);
            closed = await DataQueryStore.CloseChangedFieldsAsync(statements.Connection, statements.Transaction, nodeId, replaced.Record, record, instant, cancellationToken);
        }
        return (result, closed);
    }

    private static async Task<(string NodeId, RegistryRecord Record)?> CurrentAsync(DbConnection connection, DbTransaction? transaction, string recordId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"SELECT r.spoke_node_id, v.record FROM registry_records r {CurrentBytes} WHERE r.record_id = @id", transaction)
            .With("@id", recordId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), RegistryRecord.Parser.ParseFrom((byte[])reader[1])) : null;
    }
}
