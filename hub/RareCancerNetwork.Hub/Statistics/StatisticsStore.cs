using System.Data.Common;
using System.Globalization;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>A consultation as its figures count it (no identifier, no content).</summary>
public sealed record ConsultationFact(FactDimensions Dimensions, ConsultationStatus Status, string? ExpertId, DateTimeOffset SubmittedAt,
    DateTimeOffset? FirstReportAt, Concordance LatestConcordance);

/// <summary>A referral as its figures count it: dimensions of the sending facility and the patient's pseudonym (to count patients, never released).</summary>
public sealed record ReferralFact(FactDimensions Dimensions, string PatientPseudonym, bool Accepted, bool Rejected, DateTimeOffset CreatedAt,
    DateTimeOffset? AcceptedAt, bool CrossesRegions);

/// <summary>
/// A hotline call as its figures count it: the patient's place (not told: <see cref="StatisticsLabels.NotToldCode"/>), the category,
/// the centre that took it (and its name), its topics and how it ended. Never its notes (a spoke's never reach the hub).
/// </summary>
public sealed record HotlineFact(FactDimensions Dimensions, string CentreName, IReadOnlyList<HotlineTopic> Topics, bool FacilitySuggested, bool ReferralMade,
    bool SecondOpinionArranged);

/// <summary>A treatment line of a cohort with its patient's follow-up dates (YYYY-MM-DD, empty when unknown).</summary>
public sealed record TreatmentFact(string StartDate, RecistResponse BestResponse, string ProgressionDate, string DeathDate, string LastContactDate);

/// <summary>
/// Where in the registry's fact tables a dimension's value is, for one kind of counted row. The directory's tables are
/// joined only when a statement reads them (every fact names a prefecture and facility the directory holds, so a join
/// never adds or drops a row): the national figures are GROUP BYs over a million rows, and a join they do not need
/// costs as much as the grouping.
/// </summary>
public sealed partial record RegistrySource(string Tables, string FacilityJoin, string Month)
{
    private const string PrefectureJoin = "JOIN prefectures p ON p.name_ja = rf.prefecture";

    /// <summary>Registry records: the patient's residence, the enrolling facility's type, the enrolment month.</summary>
    public static readonly RegistrySource Enrolment = new("registry_record_facts rf", "JOIN facilities f ON f.facility_code = rf.facility_code", "rf.enrolment_month");

    /// <summary>Panel tests: the performing facility's type (unknown when not in the directory), the month ordered.</summary>
    public static readonly RegistrySource PanelTests = new(
        "registry_panel_test_facts t JOIN registry_record_facts rf ON rf.record_id = t.record_id",
        "LEFT JOIN facilities f ON f.facility_code = t.performing_facility_code", "t.ordered_month");

    /// <summary>Biomarkers, one row per patient and gene × alteration type: as registry records.</summary>
    public static readonly RegistrySource Biomarkers = new(
        "registry_biomarker_facts b JOIN registry_record_facts rf ON rf.record_id = b.record_id",
        "JOIN facilities f ON f.facility_code = rf.facility_code", "rf.enrolment_month");

    /// <summary>Treatment lines: the enrolling facility's type, the month the line started.</summary>
    public static readonly RegistrySource TreatmentLines = new(
        "registry_treatment_facts t JOIN registry_record_facts rf ON rf.record_id = t.record_id",
        "JOIN facilities f ON f.facility_code = rf.facility_code", "substr(t.start_date, 1, 7)");

    /// <summary>The FROM clause for a statement whose other clauses are <paramref name="clauses"/>.</summary>
    public string FromFor(params IEnumerable<string> clauses)
    {
        var text = string.Join(" ", clauses);
        return Tables + (PrefectureColumn().IsMatch(text) ? " " + PrefectureJoin : "") + (FacilityColumn().IsMatch(text) ? " " + FacilityJoin : "");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bp\.")]
    private static partial System.Text.RegularExpressions.Regex PrefectureColumn();

    [System.Text.RegularExpressions.GeneratedRegex(@"\bf\.")]
    private static partial System.Text.RegularExpressions.Regex FacilityColumn();

    public string Expression(Dimension dimension) => dimension switch
    {
        Dimension.Month => Month,
        Dimension.Region => "p.region",
        Dimension.Prefecture => "rf.prefecture",
        Dimension.OrganSystem => "rf.category",
        Dimension.Designation => "COALESCE(f.designation, 0)",
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "registry figures are not classified by it"),
    };
}

/// <summary>
/// Reads what the national figures count. Registry figures are aggregated in SQL over the narrow fact tables (a million
/// records); consultations and referrals, thousands a year, are read as narrow rows and grouped here. Only records whose
/// consent allows it are read: registry facts exist only for secondary-use consent, and consultations and referrals of a
/// patient who withdrew consent are left out.
/// </summary>
public sealed class StatisticsStore(HubDatabase database, TimeProvider clock)
{
    /// <summary>The patient (by pseudonym) withdrew registry consent.</summary>
    private static string WithdrawnPatient(string pseudonymColumn) => $"EXISTS (SELECT 1 FROM registry_withdrawals w WHERE w.patient_pseudonym = {pseudonymColumn})";

    public async Task<IReadOnlyList<Prefecture>> PrefecturesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT name_ja, region, jis_code FROM prefectures ORDER BY jis_code");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var prefectures = new List<Prefecture>();
        while (await reader.ReadAsync(cancellationToken))
        {
            prefectures.Add(new Prefecture { NameJa = reader.GetString(0), Region = reader.GetString(1), JisCode = reader.GetString(2) });
        }
        return prefectures;
    }

    public async Task<IReadOnlyList<ConsultationFact>> ConsultationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT c.submitted_at, f.region, f.prefecture, f.designation, c.organ_system, c.status, c.assigned_expert_id,
                c.first_reported_at,
                (SELECT r.concordance FROM consultation_reports r WHERE r.consultation_id = c.consultation_id ORDER BY r.version DESC LIMIT 1)
            FROM consultations c JOIN facilities f ON f.facility_code = c.facility_code
            WHERE NOT {WithdrawnPatient("c.patient_pseudonym")}
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var facts = new List<ConsultationFact>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var submitted = reader.GetInstant(0);
            facts.Add(new ConsultationFact(
                new FactDimensions(JapanMonth(submitted), reader.GetString(1), reader.GetString(2),
                    StatisticsLabels.OrganCode((OrganSystem)reader.GetInt32(4)), StatisticsLabels.DesignationCode((FacilityDesignation)reader.GetInt32(3))),
                (ConsultationStatus)reader.GetInt32(5), reader.GetNullableString(6), submitted,
                reader.IsDBNull(7) ? null : reader.GetInstant(7), reader.IsDBNull(8) ? Concordance.Unspecified : (Concordance)reader.GetInt32(8)));
        }
        return facts;
    }

    public async Task<IReadOnlyList<HotlineFact>> HotlineCallsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var topics = new Dictionary<string, List<HotlineTopic>>(StringComparer.Ordinal);
        await using (var command = connection.Command("SELECT call_id, topic FROM hotline_call_topics ORDER BY call_id, topic"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var callId = reader.GetString(0);
                if (!topics.TryGetValue(callId, out var list))
                {
                    topics[callId] = list = [];
                }
                list.Add((HotlineTopic)reader.GetInt32(1));
            }
        }
        var facts = new List<HotlineFact>();
        await using (var command = connection.Command(
            """
            SELECT h.call_id, h.started_month, p.region, h.patient_prefecture, h.cancer_category, f.designation, h.centre_facility_code, f.name_ja,
                h.facility_suggested, h.referral_made, h.second_opinion
            FROM hotline_calls h JOIN facilities f ON f.facility_code = h.centre_facility_code
                LEFT JOIN prefectures p ON p.name_ja = h.patient_prefecture
            """))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var prefecture = reader.GetString(3);
                facts.Add(new HotlineFact(
                    new FactDimensions(reader.GetString(1), reader.GetNullableString(2) ?? StatisticsLabels.NotToldCode,
                        prefecture.Length == 0 ? StatisticsLabels.NotToldCode : prefecture, StatisticsLabels.OrganCode((OrganSystem)reader.GetInt32(4)),
                        StatisticsLabels.DesignationCode((FacilityDesignation)reader.GetInt32(5)), Centre: reader.GetString(6)),
                    reader.GetString(7), topics.GetValueOrDefault(reader.GetString(0), []),
                    reader.GetInt32(8) != 0, reader.GetInt32(9) != 0, reader.GetInt32(10) != 0));
            }
        }
        return facts;
    }

    /// <summary>Active experts by id, with their display names.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ExpertsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT expert_id, display_name FROM experts WHERE active = 1 ORDER BY expert_id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var experts = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            experts[reader.GetString(0)] = reader.GetString(1);
        }
        return experts;
    }

    public async Task<IReadOnlyList<ReferralFact>> ReferralsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT r.created_at, s.region, s.prefecture, s.designation, r.target_kind, r.outcome, r.patient_pseudonym, d.region,
                (SELECT MIN(t.occurred_at) FROM referral_transitions t WHERE t.referral_id = r.referral_id AND t.to_state = {(int)ReferralState.Accepted}),
                (SELECT COUNT(*) FROM referral_transitions t WHERE t.referral_id = r.referral_id AND t.to_state = {(int)ReferralState.Rejected})
            FROM referrals r JOIN facilities s ON s.facility_code = r.sending_facility_code JOIN facilities d ON d.facility_code = r.receiving_facility_code
            WHERE NOT {WithdrawnPatient("r.patient_pseudonym")}
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var facts = new List<ReferralFact>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var created = reader.GetInstant(0);
            var acceptedAt = reader.IsDBNull(8) ? (DateTimeOffset?)null : reader.GetInstant(8);
            facts.Add(new ReferralFact(
                new FactDimensions(JapanMonth(created), reader.GetString(1), reader.GetString(2), "",
                    StatisticsLabels.DesignationCode((FacilityDesignation)reader.GetInt32(3)), "kind:" + reader.GetString(4),
                    StatisticsLabels.OutcomeCode((ReferralOutcome)reader.GetInt32(5))),
                reader.GetString(6), acceptedAt is not null, Convert.ToInt64(reader.GetValue(9), CultureInfo.InvariantCulture) > 0, created, acceptedAt,
                reader.GetString(1) != reader.GetString(7)));
        }
        return facts;
    }

    /// <summary>
    /// Aggregates over registry facts: one row per group of <paramref name="groupBy"/> with the value of each of
    /// <paramref name="aggregates"/>, only rows passing <paramref name="filter"/> (and <paramref name="where"/>).
    /// </summary>
    public async Task<IReadOnlyList<(string[] Keys, long[] Values)>> AggregateAsync(RegistrySource source, IReadOnlyList<string> groupBy,
        IReadOnlyList<string> aggregates, FigureFilter filter, string? where, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("");
        var conditions = Conditions(source, filter, command);
        if (where is not null)
        {
            conditions.Add(where);
        }
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }
        var keys = groupBy.Count == 0 ? "" : string.Join(", ", groupBy) + ", ";
        command.CommandText =
            $"SELECT {keys}{string.Join(", ", aggregates)} FROM {source.FromFor([.. groupBy, .. aggregates, .. conditions])}"
            + (conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "")
            + (groupBy.Count > 0 ? " GROUP BY " + string.Join(", ", groupBy) : "");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(string[], long[])>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new string[groupBy.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture) ?? "";
            }
            var values = new long[aggregates.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.IsDBNull(groupBy.Count + i) ? 0 : Convert.ToInt64(reader.GetValue(groupBy.Count + i), CultureInfo.InvariantCulture);
            }
            rows.Add((row, values));
        }
        return rows;
    }

    /// <summary>The treatment lines of a cohort with their patients' follow-up.</summary>
    public async Task<IReadOnlyList<TreatmentFact>> TreatmentLinesAsync(TreatmentCohort cohort, FigureFilter filter, CancellationToken cancellationToken)
    {
        var source = RegistrySource.TreatmentLines;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("");
        var conditions = Conditions(source, filter, command);
        // The cohort: a trial (and arm), or a regimen; each condition only when given.
        foreach (var (_, condition, name, value) in new[]
        {
            (cohort.TrialId.Length > 0, "t.trial_id = @trial", "@trial", cohort.TrialId),
            (cohort.TrialId.Length > 0 && cohort.ArmId.Length > 0, "t.arm_id = @arm", "@arm", cohort.ArmId),
            (cohort.Regimen.Length > 0, "t.regimen_key = @regimen", "@regimen", Registry.RegistryFacts.RegimenKey(cohort.Regimen)),
        }.Where(c => c.Item1))
        {
            conditions.Add(condition);
            command.With(name, value);
        }
        command.CommandText = $"SELECT t.start_date, t.best_response, rf.progression_date, rf.death_date, rf.last_contact_date FROM {source.FromFor(conditions)} WHERE {string.Join(" AND ", conditions)}";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var lines = new List<TreatmentFact>();
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(new TreatmentFact(reader.GetString(0), (RecistResponse)reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }
        return lines;
    }

    /// <summary>How many consented patients (filtered by enrolment) the matcher finds eligible for at least one open trial arm today.</summary>
    public async Task<long> PatientsMatchedAsync(FigureFilter filter, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var trials = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, cancellationToken)).Select(e => e.Trial).ToList();
        var version = await DirectoryPublisher.VersionAsync(connection, cancellationToken);
        await using var command = connection.Command("");
        var conditions = Conditions(RegistrySource.Enrolment, filter, command);
        command.CommandText = $"SELECT v.record FROM {RegistrySource.Enrolment.FromFor(conditions)} JOIN registry_records r ON r.record_id = rf.record_id {Registry.RegistryStore.CurrentBytes}"
            + (conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long matched = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var record = RegistryRecord.Parser.ParseFrom((byte[])reader[0]);
            if (TrialMatcher.Match(record, trials, version, clock).Matches.Count > 0)
            {
                matched++;
            }
        }
        return matched;
    }

    private static List<string> Conditions(RegistrySource source, FigureFilter filter, DbCommand command)
    {
        var conditions = new List<string>();
        void When(bool given, string condition, string name, object value)
        {
            if (given)
            {
                conditions.Add(condition);
                command.With(name, value);
            }
        }
        When(filter.FromMonth.Length > 0, $"{source.Month} >= @fromMonth", "@fromMonth", filter.FromMonth);
        When(filter.ToMonth.Length > 0, $"{source.Month} <= @toMonth", "@toMonth", filter.ToMonth);
        When(filter.Region.Length > 0, "p.region = @region", "@region", filter.Region);
        When(filter.Prefecture.Length > 0, "rf.prefecture = @prefecture", "@prefecture", filter.Prefecture);
        When(filter.Organ != OrganSystem.Unspecified, "rf.category = @category", "@category", (int)filter.Organ);
        When(filter.Designation != FacilityDesignation.Unspecified, $"{source.Expression(Dimension.Designation)} = @designation", "@designation", (int)filter.Designation);
        return conditions;
    }

    /// <summary>The calendar month of an instant in Japan (UTC+9, no daylight saving).</summary>
    public static string JapanMonth(DateTimeOffset instant) => instant.ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM", CultureInfo.InvariantCulture);
}
