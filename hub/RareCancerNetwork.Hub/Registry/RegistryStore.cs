using System.Data.Common;
using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
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
    /// <param name="nodeId">The delivering node.</param>
    /// <param name="records">Versions already validated, oldest first.</param>
    /// <param name="cancellationToken">Cancels the batch; nothing of it is stored then.</param>
    public async Task<IReadOnlyList<RegistryDeliveryResult>> DeliverAsync(string nodeId, IReadOnlyList<RegistryRecord> records, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (results, closedQueries) = await database.WriteAsync(async (connection, transaction) =>
        {
            var results = new List<RegistryDeliveryResult>(records.Count);
            var closedQueries = 0;
            foreach (var record in records)
            {
                var (result, closed) = await ApplyAsync(connection, transaction, nodeId, record, now, cancellationToken);
                results.Add(result);
                closedQueries += closed;
            }
            return (results, closedQueries);
        }, cancellationToken);
        if (closedQueries > 0)
        {
            feed.Notify([nodeId]);
        }
        return results;
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
            "SELECT record_id, record FROM registry_records WHERE secondary_use = 1 AND (@after IS NULL OR record_id > @after) ORDER BY record_id LIMIT @limit")
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
        await using var command = connection.Command(
            """
            SELECT record_id, record FROM registry_records
            WHERE (@facility = '' OR facility_code = @facility) AND (@after IS NULL OR record_id > @after) ORDER BY record_id LIMIT @limit
            """)
            .With("@facility", facilityCode).With("@after", afterId).With("@limit", pageSize + 1);
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
    private static async Task<(RegistryDeliveryResult Result, int ClosedQueries)> ApplyAsync(DbConnection connection, DbTransaction transaction, string nodeId,
        RegistryRecord record, DateTimeOffset instant, CancellationToken cancellationToken)
    {
        var now = instant.ToDbText();
        var result = new RegistryDeliveryResult { RecordId = record.RecordId, Version = record.Version };
        var bytes = record.ToByteArray();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await using (var withdrawn = connection.Command("SELECT COUNT(*) FROM registry_withdrawals WHERE record_id = @id", transaction).With("@id", record.RecordId))
        {
            if (await withdrawn.ScalarInt64Async(cancellationToken) > 0)
            {
                result.Outcome = RegistryDeliveryOutcome.Refused;
                result.Message = $"Record {record.RecordId}: consent was withdrawn; the registry keeps nothing more of it.";
                return (result, 0);
            }
        }
        var current = await CurrentAsync(connection, transaction, record.RecordId, cancellationToken);
        if (current is { } held && held.NodeId != nodeId)
        {
            result.Outcome = RegistryDeliveryOutcome.Refused;
            result.Message = $"Record {record.RecordId} belongs to another spoke node.";
            return (result, 0);
        }
        if (current is not null && record.Version <= current.Value.Record.Version)
        {
            await using var stored = connection.Command("SELECT content_sha256 FROM registry_record_versions WHERE record_id = @id AND version = @version", transaction)
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
        await using (var upsert = connection.Command(
            """
            INSERT INTO registry_records (record_id, spoke_node_id, facility_code, patient_pseudonym, version, enrolment_date, category, prefecture, secondary_use, record, updated_at)
            VALUES (@id, @node, @facility, @pseudonym, @version, @enrolled, @category, @prefecture, @secondaryUse, @record, @now)
            ON CONFLICT (record_id) DO UPDATE SET version = excluded.version, patient_pseudonym = excluded.patient_pseudonym,
                enrolment_date = excluded.enrolment_date, category = excluded.category, prefecture = excluded.prefecture,
                secondary_use = excluded.secondary_use, record = excluded.record, updated_at = excluded.updated_at
            """, transaction)
            .With("@id", record.RecordId).With("@node", nodeId).With("@facility", record.EnrollingFacilityCode).With("@pseudonym", record.PatientPseudonym)
            .With("@version", record.Version).With("@enrolled", record.EnrolmentDate).With("@category", (int)record.Diagnosis.Category)
            .With("@prefecture", record.Prefecture).With("@secondaryUse", record.Consent.SecondaryUse ? 1 : 0).With("@record", bytes).With("@now", now))
        {
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var version = connection.Command(
            "INSERT INTO registry_record_versions (record_id, version, content_sha256, record, received_at) VALUES (@id, @version, @sha256, @record, @now)", transaction)
            .With("@id", record.RecordId).With("@version", record.Version).With("@sha256", sha256).With("@record", bytes).With("@now", now))
        {
            await version.ExecuteNonQueryAsync(cancellationToken);
        }
        result.Outcome = RegistryDeliveryOutcome.Stored;
        var closed = current is { } replaced
            ? await DataQueryStore.CloseChangedFieldsAsync(connection, transaction, nodeId, replaced.Record, record, instant, cancellationToken)
            : 0;
        return (result, closed);
    }

    private static async Task<(string NodeId, RegistryRecord Record)?> CurrentAsync(DbConnection connection, DbTransaction? transaction, string recordId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT spoke_node_id, record FROM registry_records WHERE record_id = @id", transaction).With("@id", recordId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), RegistryRecord.Parser.ParseFrom((byte[])reader[1])) : null;
    }
}
