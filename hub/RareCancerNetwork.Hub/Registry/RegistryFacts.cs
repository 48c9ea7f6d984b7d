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

    /// <summary>
    /// The facts of one unit of work's records, gathered as its versions are applied and written by <see cref="WriteAsync"/>
    /// with one statement per table, not one per fact row (seven for a typical record): the facts are half of a registry
    /// delivery's storing at the hub, and their statements' own cost was a tenth of it (docs/benchmarks.md).
    /// </summary>
    public sealed class Pending(HubStorageProvider provider)
    {
        // Only the latest version of a record in the unit counts.
        private readonly Dictionary<string, RegistryRecord> _records = new(StringComparer.Ordinal);

        /// <summary>Replaces the record's facts with those of <paramref name="record"/> (none without secondary-use consent).</summary>
        /// <param name="replacing">Whether an earlier version (with facts perhaps) is being replaced.</param>
        public async Task ReplaceAsync(StatementCache statements, RegistryRecord record, bool replacing, CancellationToken cancellationToken)
        {
            // An earlier version gathered in this unit is simply forgotten; one stored before has its rows deleted.
            if (replacing && !_records.Remove(record.RecordId))
            {
                await DeleteAsync(statements, record.RecordId, cancellationToken);
            }
            if (record.Consent.SecondaryUse)
            {
                _records[record.RecordId] = record;
            }
        }

        /// <summary>Writes the gathered facts (on PostgreSQL gathered too: the caller flushes before it commits).</summary>
        public async Task WriteAsync(StatementCache statements, CancellationToken cancellationToken)
        {
            if (_records.Count == 0)
            {
                return;
            }
            using var records = new FactRows();
            using var panelTests = new FactRows();
            using var biomarkers = new FactRows();
            using var treatments = new FactRows();
            foreach (var record in _records.Values)
            {
                var recommended = record.PanelTests.Any(t => t.TreatmentRecommended);
                records.Add(record.RecordId, record.EnrollingFacilityCode, Month(record.EnrolmentDate), (int)record.Diagnosis.Category, record.Prefecture,
                    Flag(record.PanelTests.Count > 0), Flag(record.PanelTests.Any(t => t.ActionableAlterationFound)), Flag(recommended),
                    // Reached: a treatment line chosen because of a biomarker, after a panel recommended a treatment.
                    Flag(recommended && record.TreatmentLines.Any(l => l.BiomarkerMatched)),
                    record.FollowUp?.ProgressionDate ?? "", record.FollowUp?.DeathDate ?? "", record.FollowUp?.LastContactDate ?? "");
                for (var i = 0; i < record.PanelTests.Count; i++)
                {
                    var test = record.PanelTests[i];
                    panelTests.Add(record.RecordId, i, Month(test.OrderedDate), test.PerformingFacilityCode, Flag(test.ActionableAlterationFound),
                        Flag(test.TreatmentRecommended), (int)test.GenomicDatabaseConsent);
                }
                foreach (var (gene, type) in record.Biomarkers.Select(b => (b.Gene, b.AlterationType)).Distinct())
                {
                    biomarkers.Add(record.RecordId, gene, (int)type);
                }
                for (var i = 0; i < record.TreatmentLines.Count; i++)
                {
                    var line = record.TreatmentLines[i];
                    treatments.Add(record.RecordId, i, RegimenKey(line.Regimen), line.TrialId, line.ArmId, line.StartDate, (int)line.BestResponse);
                }
            }
            _records.Clear();
            await InsertAsync(statements, records, "registry_record_facts",
                "record_id:t, facility_code:t, enrolment_month:t, category:i, prefecture:t, panel_tested:i, actionable:i, recommended:i, reached:i, progression_date:t, death_date:t, last_contact_date:t",
                cancellationToken);
            await InsertAsync(statements, panelTests, "registry_panel_test_facts",
                "record_id:t, ordinal:i, ordered_month:t, performing_facility_code:t, actionable:i, recommended:i, genomic_consent:i", cancellationToken);
            await InsertAsync(statements, biomarkers, "registry_biomarker_facts", "record_id:t, gene:t, alteration_type:i", cancellationToken);
            await InsertAsync(statements, treatments, "registry_treatment_facts",
                "record_id:t, ordinal:i, regimen_key:t, trial_id:t, arm_id:t, start_date:t, best_response:i", cancellationToken);
        }

        /// <summary>Every row of a table in one statement: the rows travel as one JSON array of arrays, which SQL unpacks.</summary>
        /// <param name="columns">Each column with its kind: <c>name:t</c> text, <c>name:i</c> integer.</param>
        private async Task InsertAsync(StatementCache statements, FactRows rows, string table, string columns, CancellationToken cancellationToken)
        {
            if (rows.Count == 0)
            {
                return;
            }
            var parsed = columns.Split(", ").Select(c => c.Split(':')).ToList();
            var values = string.Join(", ", parsed.Select((c, i) => c[1] == "i" ? $"CAST(value ->> {i} AS INTEGER)" : $"value ->> {i}"));
            // SQLite's jsonb_each hands each row over in its binary form: json_each handed it over as text, which every one of
            // the row's ->> then parsed again (a twentieth of a registry delivery's CPU in a perf profile).
            var source = provider == HubStorageProvider.Postgres ? "jsonb_array_elements(CAST(@rows AS jsonb))" : "jsonb_each(@rows)";
            var sql = $"INSERT INTO {table} ({string.Join(", ", parsed.Select(c => c[0]))}) SELECT {values} FROM {source}";
            await statements.WriteAsync(statements.Statement(sql).With("@rows", rows.ToJson()), cancellationToken);
        }
    }

    /// <summary>Rows of one fact table as a JSON array of arrays.</summary>
    private sealed class FactRows : IDisposable
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new();
        private readonly System.Text.Json.Utf8JsonWriter _writer;

        public FactRows()
        {
            _writer = new System.Text.Json.Utf8JsonWriter(_buffer);
            _writer.WriteStartArray();
        }

        public int Count { get; private set; }

        public void Add(params ReadOnlySpan<object> values)
        {
            _writer.WriteStartArray();
            foreach (var value in values)
            {
                if (value is int number)
                {
                    _writer.WriteNumberValue(number);
                }
                else
                {
                    _writer.WriteStringValue((string)value);
                }
            }
            _writer.WriteEndArray();
            Count++;
        }

        public string ToJson()
        {
            _writer.WriteEndArray();
            _writer.Flush();
            return System.Text.Encoding.UTF8.GetString(_buffer.WrittenSpan);
        }

        public void Dispose() => _writer.Dispose();
    }

    /// <summary>Removes every fact of a record (a withdrawal of consent).</summary>
    public static async Task DeleteAsync(DbConnection connection, DbTransaction transaction, string recordId, CancellationToken cancellationToken)
    {
        await using var statements = new StatementCache(connection, transaction);
        await DeleteAsync(statements, recordId, cancellationToken);
        await statements.FlushAsync(cancellationToken);
    }

    private static async Task DeleteAsync(StatementCache statements, string recordId, CancellationToken cancellationToken)
    {
        foreach (var table in Tables)
        {
            await statements.WriteAsync(statements.Statement($"DELETE FROM {table} WHERE record_id = @id").With("@id", recordId), cancellationToken);
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
                await using (var select = connection.Command(
                    $"SELECT v.record FROM registry_records r {RegistryStore.CurrentBytes} WHERE r.record_id > @after ORDER BY r.record_id LIMIT @limit", transaction)
                    .With("@after", after).With("@limit", pageSize))
                await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        records.Add(RegistryRecord.Parser.ParseFrom((byte[])reader[0]));
                    }
                }
                await using var statements = new StatementCache(connection, transaction);
                var facts = new Pending(database.Provider);
                foreach (var record in records)
                {
                    await facts.ReplaceAsync(statements, record, replacing: true, cancellationToken);
                }
                await facts.WriteAsync(statements, cancellationToken);
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
