using System.Data.Common;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>
/// What the national statistics count of a registry record, kept in narrow rows beside it: written in the same
/// transaction as each accepted version, and only while the patient consents to secondary use (a record without that
/// consent, or withdrawn, has no facts, so no figure can count it).
/// </summary>
public static class RegistryFacts
{
    private const string ProjectionName = "registry_facts";
    private static readonly string[] Tables = ["registry_biomarker_facts", "registry_treatment_facts", "registry_panel_test_facts", "registry_record_facts"];

    /// <summary>Replaces the record's facts with those of <paramref name="record"/> (gathered writes: the caller flushes before it commits).</summary>
    /// <param name="replacing">Whether an earlier version (with facts perhaps) is being replaced.</param>
    public static async Task WriteAsync(StatementCache statements, RegistryRecord record, bool replacing, CancellationToken cancellationToken)
    {
        if (replacing)
        {
            foreach (var table in Tables)
            {
                await statements.WriteAsync(statements.Statement($"DELETE FROM {table} WHERE record_id = @id").With("@id", record.RecordId), cancellationToken);
            }
        }
        if (!record.Consent.SecondaryUse)
        {
            return;
        }
        var recommended = record.PanelTests.Any(t => t.TreatmentRecommended);
        await statements.WriteAsync(statements.Statement(
            """
            INSERT INTO registry_record_facts (record_id, facility_code, enrolment_month, category, prefecture, panel_tested, actionable, recommended, reached,
                progression_date, death_date, last_contact_date)
            VALUES (@id, @facility, @month, @category, @prefecture, @tested, @actionable, @recommended, @reached, @progression, @death, @contact)
            """)
            .With("@id", record.RecordId).With("@facility", record.EnrollingFacilityCode).With("@month", Month(record.EnrolmentDate))
            .With("@category", (int)record.Diagnosis.Category).With("@prefecture", record.Prefecture)
            .With("@tested", Flag(record.PanelTests.Count > 0)).With("@actionable", Flag(record.PanelTests.Any(t => t.ActionableAlterationFound)))
            .With("@recommended", Flag(recommended))
            // Reached: a treatment line chosen because of a biomarker, after a panel recommended a treatment.
            .With("@reached", Flag(recommended && record.TreatmentLines.Any(l => l.BiomarkerMatched)))
            .With("@progression", record.FollowUp?.ProgressionDate ?? "").With("@death", record.FollowUp?.DeathDate ?? "")
            .With("@contact", record.FollowUp?.LastContactDate ?? ""), cancellationToken);
        for (var i = 0; i < record.PanelTests.Count; i++)
        {
            var test = record.PanelTests[i];
            await statements.WriteAsync(statements.Statement(
                """
                INSERT INTO registry_panel_test_facts (record_id, ordinal, ordered_month, performing_facility_code, actionable, recommended, genomic_consent)
                VALUES (@id, @ordinal, @month, @facility, @actionable, @recommended, @consent)
                """)
                .With("@id", record.RecordId).With("@ordinal", i).With("@month", Month(test.OrderedDate)).With("@facility", test.PerformingFacilityCode)
                .With("@actionable", Flag(test.ActionableAlterationFound)).With("@recommended", Flag(test.TreatmentRecommended))
                .With("@consent", (int)test.GenomicDatabaseConsent), cancellationToken);
        }
        foreach (var (gene, type) in record.Biomarkers.Select(b => (b.Gene, b.AlterationType)).Distinct())
        {
            await statements.WriteAsync(statements.Statement("INSERT INTO registry_biomarker_facts (record_id, gene, alteration_type) VALUES (@id, @gene, @type)")
                .With("@id", record.RecordId).With("@gene", gene).With("@type", (int)type), cancellationToken);
        }
        for (var i = 0; i < record.TreatmentLines.Count; i++)
        {
            var line = record.TreatmentLines[i];
            await statements.WriteAsync(statements.Statement(
                """
                INSERT INTO registry_treatment_facts (record_id, ordinal, regimen_key, trial_id, arm_id, start_date, best_response)
                VALUES (@id, @ordinal, @regimen, @trial, @arm, @start, @response)
                """)
                .With("@id", record.RecordId).With("@ordinal", i).With("@regimen", RegimenKey(line.Regimen)).With("@trial", line.TrialId)
                .With("@arm", line.ArmId).With("@start", line.StartDate).With("@response", (int)line.BestResponse), cancellationToken);
        }
    }

    /// <summary>Removes every fact of a record (a withdrawal of consent).</summary>
    public static async Task DeleteAsync(DbConnection connection, DbTransaction transaction, string recordId, CancellationToken cancellationToken)
    {
        foreach (var table in Tables)
        {
            await using var command = connection.Command($"DELETE FROM {table} WHERE record_id = @id", transaction).With("@id", recordId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>How regimens are compared: without regard to case or surrounding spaces.</summary>
    public static string RegimenKey(string regimen) => regimen.Trim().ToLowerInvariant();

    /// <summary>
    /// Builds the facts of records stored before the statistics existed, once per store: run at start-up under the
    /// initialization lock, a page of records per transaction, so a large registry neither holds one huge transaction nor
    /// is counted twice if the hub stops half-way (each page replaces its records' facts).
    /// </summary>
    /// <returns>How many records were read (0 when the projection was already built).</returns>
    public static async Task<long> BuildOnceAsync(HubDatabase database, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var built = connection.Command("SELECT built_at FROM statistics_projections WHERE name = @name").With("@name", ProjectionName))
        {
            if (await built.ExecuteScalarAsync(cancellationToken) is string)
            {
                return 0;
            }
        }
        const int pageSize = 1_000;
        var after = "";
        long read = 0;
        while (true)
        {
            var page = await database.WriteAsync(async (connection, transaction) =>
            {
                var records = new List<RegistryRecord>(pageSize);
                await using (var select = connection.Command("SELECT record FROM registry_records WHERE record_id > @after ORDER BY record_id LIMIT @limit", transaction)
                    .With("@after", after).With("@limit", pageSize))
                await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        records.Add(RegistryRecord.Parser.ParseFrom((byte[])reader[0]));
                    }
                }
                await using var statements = new StatementCache(connection, transaction);
                foreach (var record in records)
                {
                    await WriteAsync(statements, record, replacing: true, cancellationToken);
                }
                await statements.FlushAsync(cancellationToken);
                return records;
            }, cancellationToken);
            read += page.Count;
            if (page.Count < pageSize)
            {
                break;
            }
            after = page[^1].RecordId;
        }
        await database.WriteAsync(async (connection, transaction) =>
        {
            await using var mark = connection.Command("INSERT INTO statistics_projections (name, built_at) VALUES (@name, @now) ON CONFLICT (name) DO NOTHING", transaction)
                .With("@name", ProjectionName).With("@now", clock.GetUtcNow().ToDbText());
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return read;
    }

    private static string Month(string date) => date.Length >= 7 ? date[..7] : date;

    private static int Flag(bool value) => value ? 1 : 0;
}
