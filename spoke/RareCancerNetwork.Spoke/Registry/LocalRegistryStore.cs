using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Registry;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Pseudonymisation;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Registry;

/// <summary>
/// The facility's registry records at the spoke. Each change is a new version stored with its outbox
/// entry in one transaction (only with registry-participation consent: otherwise the record never leaves
/// the spoke). When the hub answers that a version is stale, the record is held in conflict, with the
/// hub's version beside it, until a person resolves it: never a silent overwrite, never a silent drop.
/// </summary>
public sealed class LocalRegistryStore(SpokeDatabase database, PatientPseudonymizer pseudonymizer, OutboxSignal outboxSignal, TimeProvider clock)
{
    public const string DeliverKind = "deliver_registry_record";
    public const string WithdrawKind = "withdraw_registry_record";

    private const string Columns = "r.local_patient_id, v.record, r.sync_state, r.sync_error, r.hub_version, r.updated_at, r.record_id";

    /// <summary>
    /// A record's latest bytes are its latest history row's (the bytes are kept once): join this to <c>registry_records r</c>
    /// and read <c>v.record</c>. The latest entry is found along the history's primary key, not kept beside it.
    /// </summary>
    internal const string CurrentBytes =
        "JOIN registry_record_versions v ON v.record_id = r.record_id AND v.entry = (SELECT MAX(l.entry) FROM registry_record_versions l WHERE l.record_id = r.record_id)";

    public async Task<(LocalRegistryRecord Record, bool Duplicate)> CreateAsync(string facilityCode, string createdBy, string localPatientId,
        RegistryRecord request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var record = request.Clone();
        record.PatientPseudonym = pseudonymizer.Pseudonymise(localPatientId);
        record.EnrollingFacilityCode = facilityCode;
        Stamp(record, createdBy, now);
        Validate(record, "record.");
        var sha256 = ContentSha256(record, localPatientId);
        var alreadyHeld = await database.WriteAsync<LocalRegistryRecord?>(async (connection, transaction) =>
        {
            var duplicate = false;
            string? existingId = null;
            // The same patient's same primary cancer under another id: the file was submitted again without
            // an id (the same content answers with the record held), or it is a second enrolment (refused).
            await using (var sameCancer = connection.Command(
                """
                SELECT r.record_id, r.local_patient_id, v.record FROM registry_records r
                JOIN registry_record_versions v ON v.record_id = r.record_id AND v.version = 1 AND v.origin = 'spoke'
                WHERE r.local_patient_id = $patient AND r.natural_key = $key AND r.record_id <> $id
                """, transaction).With("$patient", localPatientId).With("$key", NaturalKey(record, localPatientId)).With("$id", record.RecordId))
            await using (var reader = await sameCancer.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    var held = reader.GetString(0);
                    var first = RegistryRecord.Parser.ParseFrom((byte[])reader[2]);
                    first.RecordId = record.RecordId;
                    if (ContentSha256(first, reader.GetString(1)) != sha256)
                    {
                        throw new ConflictException(
                            $"This patient's {record.Diagnosis.TopographyCode} {record.Diagnosis.MorphologyCode} diagnosed {record.Diagnosis.DiagnosisDate} is already enrolled as record {held}; update that record instead.");
                    }
                    existingId = held;
                }
            }
            if (existingId is not null)
            {
                return await ReadAsync(connection, transaction, existingId, cancellationToken);
            }
            // A retry of the same enrolment is answered with the record, however far it has moved on since;
            // other content under this id is refused.
            await using (var existing = connection.Command(
                """
                SELECT r.local_patient_id, v.record FROM registry_records r
                JOIN registry_record_versions v ON v.record_id = r.record_id AND v.version = 1 AND v.origin = 'spoke'
                WHERE r.record_id = $id
                """, transaction).With("$id", record.RecordId))
            await using (var reader = await existing.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    var first = RegistryRecord.Parser.ParseFrom((byte[])reader[1]);
                    if (ContentSha256(first, reader.GetString(0)) != sha256)
                    {
                        throw new ConflictException($"Registry record {record.RecordId} already exists with other content; use a new record_id.");
                    }
                    duplicate = true;
                }
            }
            if (duplicate)
            {
                return await ReadAsync(connection, transaction, record.RecordId, cancellationToken);
            }
            await using (var statements = new StatementCache(connection, transaction))
            {
                await InsertNewAsync(statements, record, localPatientId, now, cancellationToken);
            }
            return null;
        }, cancellationToken);
        if (alreadyHeld is not null)
        {
            return (alreadyHeld, true);
        }
        outboxSignal.Wake();
        return (await GetAsync(record.RecordId, cancellationToken), false);
    }

    public async Task<LocalRegistryRecord> UpdateAsync(string updatedBy, RegistryRecord request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadAsync(connection, transaction, request.RecordId, cancellationToken);
            if (current.SyncState == RegistrySyncState.Conflict)
            {
                throw new PreconditionFailedException("REGISTRY_CONFLICT",
                    $"Registry record {request.RecordId} is in conflict with the hub's version {current.HubVersion.Version}; resolve the conflict first.");
            }
            if (request.Version != current.Record.Version + 1)
            {
                throw new PreconditionFailedException("STALE_VERSION",
                    $"version {request.Version} replaces version {request.Version - 1}, but the latest version is {current.Record.Version}; reload the record and apply the change to it.");
            }
            if (current.Record.Consent.RegistryParticipation && request.Consent is { RegistryParticipation: false })
            {
                throw new PreconditionFailedException("USE_WITHDRAWAL",
                    "Registry participation cannot be switched off by an update: withdrawal of consent is its own operation.");
            }
            var record = request.Clone();
            // Who the patient is and where they were enrolled are the spoke's, not the caller's.
            record.PatientPseudonym = current.Record.PatientPseudonym;
            record.EnrollingFacilityCode = current.Record.EnrollingFacilityCode;
            Stamp(record, updatedBy, now);
            Validate(record, "record.");
            await using var statements = new StatementCache(connection, transaction);
            await StoreLatestAsync(statements, record, current.LocalPatientId, RegistrySyncState.Unspecified, now, cancellationToken);
        }, cancellationToken);
        outboxSignal.Wake();
        return await GetAsync(request.RecordId, cancellationToken);
    }

    /// <summary>Settles a conflict: the spoke's content as a new version on top of the hub's, or the hub's version as the spoke's own.</summary>
    public async Task<LocalRegistryRecord> ResolveAsync(string resolvedBy, string recordId, ConflictResolution resolution, long hubVersion, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await database.WriteAsync(async (connection, transaction) =>
        {
            var current = await ReadAsync(connection, transaction, recordId, cancellationToken);
            if (current.SyncState != RegistrySyncState.Conflict)
            {
                throw new PreconditionFailedException("NOT_IN_CONFLICT", $"Registry record {recordId} is not in conflict.");
            }
            if (current.HubVersion.Version != hubVersion)
            {
                throw new PreconditionFailedException("STALE_VERSION",
                    $"hub_version is {hubVersion} but the hub's version in conflict is {current.HubVersion.Version}; reload the record.");
            }
            RegistryRecord record;
            if (resolution == ConflictResolution.TakeHub)
            {
                record = current.HubVersion.Clone();
                await using (var statements = new StatementCache(connection, transaction))
                {
                    await StoreLatestAsync(statements, record, current.LocalPatientId, RegistrySyncState.Synchronised, now, cancellationToken, origin: "hub");
                }
            }
            else
            {
                record = current.Record.Clone();
                record.Version = current.HubVersion.Version + 1;
                Stamp(record, resolvedBy, now);
                Validate(record, "record.");
                await using (var statements = new StatementCache(connection, transaction))
                {
                    await StoreLatestAsync(statements, record, current.LocalPatientId, RegistrySyncState.Unspecified, now, cancellationToken);
                }
            }
        }, cancellationToken);
        outboxSignal.Wake();
        return await GetAsync(recordId, cancellationToken);
    }

    private static readonly string[] WithdrawalDeletions =
    [
        "UPDATE outbox SET payload = x'' WHERE ordering_key = $key AND kind = $deliver",
        "DELETE FROM registry_record_versions WHERE record_id = $id",
        "DELETE FROM registry_records WHERE record_id = $id",
    ];

    /// <summary>
    /// Records the patient's withdrawal of consent: the record and its versions are deleted here, anything
    /// still queued for it is taken out of delivery, the facility keeps a tombstone, and the hub is told
    /// (if the record ever left the spoke) in the same transaction. A repeat returns the tombstone.
    /// </summary>
    public async Task<WithdrawRegistryConsentResponse> WithdrawAsync(string recordedBy, string recordId, string withdrawnOn, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var earlier = await database.WriteAsync<WithdrawRegistryConsentResponse?>(async (connection, transaction) =>
        {
            if (await TombstoneAsync(connection, transaction, recordId, cancellationToken) is { } tombstone)
            {
                return tombstone;
            }
            var current = await ReadAsync(connection, transaction, recordId, cancellationToken);
            await using (var insert = connection.Command(
                """
                INSERT INTO registry_withdrawals (record_id, local_patient_id, patient_pseudonym, withdrawn_on, recorded_by, recorded_at)
                VALUES ($id, $patient, $pseudonym, $on, $by, $now)
                """, transaction)
                .With("$id", recordId).With("$patient", current.LocalPatientId).With("$pseudonym", current.Record.PatientPseudonym)
                .With("$on", withdrawnOn).With("$by", recordedBy).With("$now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            long queuedBefore;
            await using (var queued = connection.Command("SELECT COUNT(*) FROM outbox WHERE ordering_key = $key", transaction).With("$key", OrderingKey(recordId)))
            {
                queuedBefore = await queued.ScalarInt64Async(cancellationToken);
            }
            await OutboxStore.SupersedeAsync(connection, transaction, OrderingKey(recordId), "superseded: consent withdrawn", now.ToDbText(), cancellationToken);
            if (queuedBefore > 0)
            {
                var withdrawal = new DeliverRegistryWithdrawalRequest
                {
                    RecordId = recordId,
                    WithdrawnOn = withdrawnOn,
                    RecordedBy = recordedBy,
                    PatientPseudonym = current.Record.PatientPseudonym,
                };
                await OutboxStore.EnqueueAsync(connection, transaction, WithdrawKind, recordId, OrderingKey(recordId), withdrawal.ToByteArray(), now, cancellationToken);
            }
            await LocalDataQueryStore.DeleteForRecordAsync(connection, transaction, recordId, now.ToDbText(), cancellationToken);
            // The payloads of answered entries are the record's content too: they go with it.
            foreach (var sql in WithdrawalDeletions)
            {
                await using var delete = connection.Command(sql, transaction).With("$key", OrderingKey(recordId)).With("$deliver", DeliverKind).With("$id", recordId);
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }
            return null;
        }, cancellationToken);
        if (earlier is not null)
        {
            return earlier;
        }
        outboxSignal.Wake();
        return new WithdrawRegistryConsentResponse { RecordId = recordId, WithdrawnOn = withdrawnOn, RecordedBy = recordedBy };
    }

    /// <summary>
    /// The hub's answers to delivered versions, with their outbox entries, in one transaction: stored
    /// (or already held) versions are synchronised; a stale one puts the record in conflict, and versions
    /// queued behind it are superseded (they continue a line the hub did not take); a refused one is
    /// kept with the reason.
    /// </summary>
    public async Task ApplyDeliveryResultsAsync(IReadOnlyList<OutboxEntry> entries, IReadOnlyList<RegistryDeliveryResult> results, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        // A unit of the node's group writer, as the import's: two transactions of their own wrestled for SQLite's lock,
        // each waiting in a sleeping busy handler while the other held it.
        await database.WriteAsync(async (connection, transaction) =>
        {
            await using var statements = new StatementCache(connection, transaction);
            for (var i = 0; i < entries.Count; i++)
            {
                var (entry, result) = (entries[i], results[i]);
                switch (result.Outcome)
                {
                    case RegistryDeliveryOutcome.Stored or RegistryDeliveryOutcome.Duplicate:
                        await OutboxStore.MarkEntryAsync(statements, entry.OutboxId, delivered: true, null, now, cancellationToken);
                        await SetStateAsync(statements, result.RecordId, RegistrySyncState.Synchronised, null, null, now, cancellationToken,
                            onlyVersion: result.Version, onlyFrom: RegistrySyncState.Pending);
                        break;
                    case RegistryDeliveryOutcome.Stale:
                        await OutboxStore.MarkEntryAsync(statements, entry.OutboxId, delivered: true, null, now, cancellationToken);
                        await SetStateAsync(statements, result.RecordId, RegistrySyncState.Conflict, result.Message, result.Current.ToByteArray(), now, cancellationToken);
                        await OutboxStore.SupersedeAsync(connection, transaction, OrderingKey(result.RecordId),
                            "superseded: an earlier version of this record is in conflict with the hub's", now, cancellationToken);
                        break;
                    default:
                        await OutboxStore.MarkEntryAsync(statements, entry.OutboxId, delivered: false, result.Message, now, cancellationToken);
                        await SetStateAsync(statements, result.RecordId, RegistrySyncState.Rejected, result.Message, null, now, cancellationToken,
                            onlyVersion: result.Version);
                        break;
                }
            }
        }, cancellationToken);
    }

    public async Task<LocalRegistryRecord> GetAsync(string recordId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, null, recordId, cancellationToken);
    }

    public async Task<(IReadOnlyList<LocalRegistryRecord> Page, string NextPageToken)> ListAsync(bool conflictsOnly, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        var (afterUpdated, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT {Columns} FROM registry_records r {CurrentBytes}
            WHERE ($conflictsOnly = 0 OR r.sync_state = $conflict)
              AND ($afterUpdated IS NULL OR (r.updated_at, r.record_id) < ($afterUpdated, $afterId))
            ORDER BY r.updated_at DESC, r.record_id DESC LIMIT $limit
            """)
            .With("$conflictsOnly", conflictsOnly ? 1 : 0).With("$conflict", (int)RegistrySyncState.Conflict)
            .With("$afterUpdated", afterUpdated).With("$afterId", afterId).With("$limit", pageSize + 1);
        var rows = new List<(LocalRegistryRecord Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((ReadView(reader), reader.GetString(5), reader.GetString(6)));
            }
        }
        return KeysetPage.Split(rows, pageSize);
    }

    /// <summary>A page of the facility's records (latest versions), in record-id order, for export.</summary>
    public async Task<(IReadOnlyList<RegistryRecord> Page, string NextPageToken)> ExportPageAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var (_, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT r.record_id, v.record FROM registry_records r {CurrentBytes} WHERE ($after IS NULL OR r.record_id > $after) ORDER BY r.record_id LIMIT $limit")
            .With("$after", afterId).With("$limit", pageSize + 1);
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

    /// <summary>Every version the spoke has held, oldest first (its own and, after a conflict settled for the hub, the hub's).</summary>
    public async Task<IReadOnlyList<RegistryRecord>> VersionsAsync(string recordId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await ReadAsync(connection, null, recordId, cancellationToken);
        await using var command = connection.Command("SELECT record FROM registry_record_versions WHERE record_id = $id ORDER BY entry").With("$id", recordId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<RegistryRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(RegistryRecord.Parser.ParseFrom((byte[])reader[0]));
        }
        return versions;
    }

    public static string OrderingKey(string recordId) => $"registry:{recordId}";

    private void Validate(RegistryRecord record, string path)
    {
        var v = new FieldValidator();
        RegistryValidation.Validate(v, record, ConsultationValidation.TodayInJapan(clock), path);
        v.ThrowIfInvalid();
    }

    private static void Stamp(RegistryRecord record, string by, DateTimeOffset now)
    {
        record.UpdatedBy = by;
        record.UpdatedAt = Timestamp.FromDateTimeOffset(now);
    }

    private static RegistrySyncState StateFor(RegistryRecord record) =>
        record.Consent.RegistryParticipation ? RegistrySyncState.Pending : RegistrySyncState.LocalOnly;

    /// <summary>The same patient and content, whoever entered it and when.</summary>
    private static string ContentSha256(RegistryRecord record, string localPatientId)
    {
        // Who changed the record and when are not its content. They are set aside and put back rather than the record
        // copied: a record is a kilobyte of nested messages, and this runs for every record imported.
        var (updatedBy, updatedAt) = (record.UpdatedBy, record.UpdatedAt);
        record.UpdatedBy = "";
        record.UpdatedAt = null;
        try
        {
            return Convert.ToHexStringLower(SHA256.HashData([.. System.Text.Encoding.UTF8.GetBytes(localPatientId), 0, .. record.ToByteArray()]));
        }
        finally
        {
            record.UpdatedBy = updatedBy;
            record.UpdatedAt = updatedAt;
        }
    }

    /// <summary>
    /// Enrols many patients in one transaction. Each record is checked on its own (INVALID with every
    /// problem); one whose patient and primary cancer the spoke already holds is ALREADY_IMPORTED.
    /// </summary>
    public async Task<IReadOnlyList<ImportedRecordResult>> ImportAsync(string facilityCode, string importedBy, IReadOnlyList<ImportedRecord> rows,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var today = ConsultationValidation.TodayInJapan(clock);
        var results = new ImportedRecordResult[rows.Count];
        var valid = new List<(int Index, RegistryRecord Record, string LocalPatientId)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var v = new FieldValidator();
            v.LocalPatientId("local_patient_id", rows[i].LocalPatientId);
            var record = rows[i].Record?.Clone() ?? new RegistryRecord();
            if (record.RecordId.Length == 0)
            {
                record.RecordId = Guid.CreateVersion7().ToString();
            }
            if (record.Version != 1)
            {
                v.Add("version", $"must be 1 for a new record; got {record.Version}");
            }
            record.PatientPseudonym = v.Violations.Count == 0 ? pseudonymizer.Pseudonymise(rows[i].LocalPatientId) : new string('0', 64);
            record.EnrollingFacilityCode = facilityCode;
            Stamp(record, importedBy, now);
            RegistryValidation.Validate(v, record, today);
            if (v.Violations.Count > 0)
            {
                results[i] = new ImportedRecordResult { Outcome = ImportOutcome.Invalid, RecordId = record.RecordId };
                results[i].Problems.AddRange(v.Violations.Select(f => new FieldProblem { Field = f.Field, Description = f.Description }));
                continue;
            }
            valid.Add((i, record, rows[i].LocalPatientId));
        }
        if (valid.Count > 0)
        {
            // One unit of the node's group writer (see ApplyDeliveryResultsAsync).
            await database.WriteAsync(async (connection, transaction) =>
            {
                await using var statements = new StatementCache(connection, transaction);
                foreach (var (index, record, localPatientId) in valid)
                {
                    // Already held: this patient's primary cancer. A given record_id that names another record is a mistake in the file.
                    var existing = statements.Statement(
                        """
                        SELECT record_id, local_patient_id = $patient AND natural_key = $key FROM registry_records
                        WHERE (local_patient_id = $patient AND natural_key = $key) OR record_id = $id
                        ORDER BY local_patient_id = $patient AND natural_key = $key DESC LIMIT 1
                        """)
                        .With("$patient", localPatientId).With("$key", NaturalKey(record, localPatientId)).With("$id", record.RecordId);
                    await using (var reader = await existing.ExecuteReaderAsync(cancellationToken))
                    {
                        if (await reader.ReadAsync(cancellationToken))
                        {
                            results[index] = reader.GetBoolean(1)
                                ? new ImportedRecordResult { Outcome = ImportOutcome.AlreadyImported, RecordId = reader.GetString(0) }
                                : new ImportedRecordResult
                                {
                                    Outcome = ImportOutcome.Invalid,
                                    RecordId = record.RecordId,
                                    Problems = { new FieldProblem { Field = "record_id", Description = "is already the id of another patient's or another cancer's record" } },
                                };
                            continue;
                        }
                    }
                    if (await statements.Statement("SELECT COUNT(*) FROM registry_withdrawals WHERE record_id = $id").With("$id", record.RecordId).ScalarInt64Async(cancellationToken) > 0)
                    {
                        results[index] = new ImportedRecordResult { Outcome = ImportOutcome.Invalid, RecordId = record.RecordId };
                        results[index].Problems.Add(new FieldProblem { Field = "record_id", Description = "consent for this record was withdrawn" });
                        continue;
                    }
                    await InsertNewAsync(statements, record, localPatientId, now, cancellationToken);
                    results[index] = new ImportedRecordResult { Outcome = ImportOutcome.Created, RecordId = record.RecordId };
                }
            }, cancellationToken);
            outboxSignal.Wake();
        }
        return results;
    }

    /// <summary>Stores version 1 of a new record, its history entry and, with registry consent, its outbox entry.</summary>
    private static async Task InsertNewAsync(StatementCache statements, RegistryRecord record, string localPatientId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await statements.Statement(
            """
            INSERT INTO registry_records (record_id, local_patient_id, version, content_sha256, natural_key, sync_state, updated_at)
            VALUES ($id, $patient, 1, $sha256, $key, $state, $now)
            """)
            .With("$id", record.RecordId).With("$patient", localPatientId).With("$sha256", ContentSha256(record, localPatientId))
            .With("$key", NaturalKey(record, localPatientId)).With("$state", (int)StateFor(record)).With("$now", now.ToDbText())
            .ExecuteNonQueryAsync(cancellationToken);
        await RecordVersionAsync(statements, record, "spoke", now, cancellationToken);
    }

    /// <summary>The patient and the primary cancer: the same in every version of a record.</summary>
    private static string NaturalKey(RegistryRecord record, string localPatientId) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\u001f', localPatientId,
            record.Diagnosis.TopographyCode, record.Diagnosis.MorphologyCode, record.Diagnosis.DiagnosisDate))));

    /// <summary>Makes <paramref name="record"/> the latest version, keeps it in the history and queues it for the hub when it may go there.</summary>
    /// <param name="state">Unspecified: pending or local-only, from the record's consent.</param>
    private static async Task StoreLatestAsync(StatementCache statements, RegistryRecord record, string localPatientId,
        RegistrySyncState state, DateTimeOffset now, CancellationToken cancellationToken, string origin = "spoke")
    {
        state = state == RegistrySyncState.Unspecified ? StateFor(record) : state;
        await statements.Statement(
            """
            UPDATE registry_records SET version = $version, content_sha256 = $sha256, sync_state = $state,
                sync_error = NULL, hub_version = NULL, updated_at = $now
            WHERE record_id = $id
            """)
            .With("$version", record.Version).With("$sha256", ContentSha256(record, localPatientId))
            .With("$state", (int)state).With("$now", now.ToDbText()).With("$id", record.RecordId)
            .ExecuteNonQueryAsync(cancellationToken);
        await RecordVersionAsync(statements, record, origin, now, cancellationToken);
    }

    /// <summary>Adds the version to the record's history (its bytes are kept there alone) and queues it for the hub when it may go there.</summary>
    private static async Task RecordVersionAsync(StatementCache statements, RegistryRecord record, string origin, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entry = await statements.Statement(
            """
            INSERT INTO registry_record_versions (record_id, entry, version, origin, record)
            VALUES ($id, (SELECT COALESCE(MAX(entry), 0) + 1 FROM registry_record_versions WHERE record_id = $id), $version, $origin, $record)
            RETURNING entry
            """)
            .With("$id", record.RecordId).With("$version", record.Version).With("$origin", origin).With("$record", record.ToByteArray())
            .ScalarInt64Async(cancellationToken);
        if (origin == "spoke" && record.Consent.RegistryParticipation)
        {
            // The entry names this history row rather than holding a third copy of the bytes.
            await OutboxStore.EnqueueRegistryVersionAsync(statements, record.RecordId, entry, now, cancellationToken);
        }
    }

    private static async Task SetStateAsync(StatementCache statements, string recordId, RegistrySyncState state, string? error,
        byte[]? hubVersion, string now, CancellationToken cancellationToken, long? onlyVersion = null, RegistrySyncState? onlyFrom = null)
    {
        var update = statements.Statement(
            """
            UPDATE registry_records SET sync_state = $state, sync_error = $error, hub_version = $hub, updated_at = $now
            WHERE record_id = $id AND ($version IS NULL OR version = $version) AND ($from IS NULL OR sync_state = $from)
              AND sync_state <> $conflict
            """)
            .With("$state", (int)state).With("$error", error).With("$hub", hubVersion).With("$now", now).With("$id", recordId)
            .With("$version", onlyVersion).With("$from", onlyFrom is null ? null : (int)onlyFrom.Value).With("$conflict", (int)RegistrySyncState.Conflict);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<LocalRegistryRecord> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string recordId, CancellationToken cancellationToken)
    {
        await using (var command = connection.Command($"SELECT {Columns} FROM registry_records r {CurrentBytes} WHERE r.record_id = $id", transaction).With("$id", recordId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                return ReadView(reader);
            }
        }
        throw await TombstoneAsync(connection, transaction, recordId, cancellationToken) is { } withdrawn
            ? new ResourceNotFoundException("Registry record", recordId, $"consent was withdrawn on {withdrawn.WithdrawnOn} (recorded by {withdrawn.RecordedBy}); nothing more of it is kept")
            : new ResourceNotFoundException("Registry record", recordId);
    }

    private static async Task<WithdrawRegistryConsentResponse?> TombstoneAsync(SqliteConnection connection, SqliteTransaction? transaction, string recordId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT withdrawn_on, recorded_by FROM registry_withdrawals WHERE record_id = $id", transaction).With("$id", recordId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new WithdrawRegistryConsentResponse { RecordId = recordId, WithdrawnOn = reader.GetString(0), RecordedBy = reader.GetString(1) }
            : null;
    }

    private static LocalRegistryRecord ReadView(SqliteDataReader reader)
    {
        var view = new LocalRegistryRecord
        {
            LocalPatientId = reader.GetString(0),
            Record = RegistryRecord.Parser.ParseFrom((byte[])reader[1]),
            SyncState = (RegistrySyncState)reader.GetInt32(2),
            SyncError = reader.GetNullableString(3) ?? "",
        };
        if (!reader.IsDBNull(4))
        {
            view.HubVersion = RegistryRecord.Parser.ParseFrom((byte[])reader[4]);
            view.DifferingFields.AddRange(RecordDifferences.Between(view.Record, view.HubVersion));
        }
        return view;
    }
}
