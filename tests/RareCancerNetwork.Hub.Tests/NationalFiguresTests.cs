using System.Text;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Statistics;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// Every national figure against counts made by hand (LINQ over the generated data, independently of the SQL and the
/// grouping under test), on both providers; what a released figure hides; the CSV file.
/// </summary>
public sealed class NationalFiguresTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly string[] Months = ["2025-01", "2025-02", "2025-03", "2025-04"];
    private static readonly OrganSystem[] Categories = [OrganSystem.SoftTissue, OrganSystem.Bone, OrganSystem.Gynecologic];
    private static readonly (string Code, string Prefecture, FacilityDesignation Designation)[] Facilities =
        [("CORE-004", "東京都", FacilityDesignation.GenomicCore), ("CORE-001", "大阪府", FacilityDesignation.GenomicHub), ("COOP-7", "東京都", FacilityDesignation.GenomicCooperative)];
    private static readonly (string Gene, AlterationType Type)[] Markers =
        [("MDM2", AlterationType.Amplification), ("EWSR1", AlterationType.Fusion), ("KRAS", AlterationType.Mutation), ("NTRK1", AlterationType.Fusion)];

    private static async Task<HubStore> CreateAsync(HubStorageProvider provider)
    {
        var hub = await HubStore.CreateAsync(provider);
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('大阪府', 'Kinki', '27');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-001', '大阪大学医学部附属病院', 2, '大阪府', 'Kinki');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('COOP-7', '連携病院', 3, '東京都', 'Kanto');
            """);
        return hub;
    }

    private static async Task<FigureResult> FigureAsync(HubStore hub, FigureQuery query, bool exact = true)
    {
        using var statistics = new NationalStatistics(new NationalFigures(new StatisticsStore(hub.Database, TimeProvider.System)),
            new StatisticsStore(hub.Database, TimeProvider.System), Microsoft.Extensions.Options.Options.Create(hub.Options), TimeProvider.System);
        var asked = query.Clone();
        asked.Exact = exact;
        return await statistics.AnswerAsync(asked, "query", Ct);
    }

    private static StatisticsCell Cell(StatisticsTable table, string row, string column) =>
        table.Cells[table.Rows.ToList().FindIndex(r => r.Code == row) * table.Columns.Count + table.Columns.ToList().FindIndex(c => c.Code == column)];

    /// <summary>300 generated records: some without secondary-use consent, some replaced by later versions (two in one delivery), some withdrawn.</summary>
    private static async Task<List<RegistryRecord>> SeedRegistryAsync(HubStore hub)
    {
        var random = new Random(11);
        var registry = new RegistryStore(hub.Database, new RareCancerNetwork.Hub.Feed.EventFeed(hub.Database), TimeProvider.System);
        var records = new List<RegistryRecord>();
        for (var i = 0; i < 300; i++)
        {
            var facility = Facilities[random.Next(Facilities.Length)];
            var record = RegistrySamples.Record(facility.Code);
            record.EnrolmentDate = $"{Months[random.Next(Months.Length)]}-{random.Next(1, 28):00}";
            record.Prefecture = random.Next(3) == 0 ? "大阪府" : "東京都";
            record.Diagnosis.Category = Categories[random.Next(Categories.Length)];
            record.Consent.SecondaryUse = random.Next(100) < 85;
            record.PanelTests.Clear();
            for (var t = random.Next(3); t > 0; t--)
            {
                record.PanelTests.Add(new PanelTest
                {
                    PerformingFacilityCode = random.Next(5) == 0 ? "EXT-9" : Facilities[random.Next(Facilities.Length)].Code,
                    PanelName = "NCC オンコパネル", OrderedDate = $"{Months[random.Next(Months.Length)]}-15", Specimen = PanelSpecimen.Tissue,
                    ActionableAlterationFound = random.Next(2) == 0, TreatmentRecommended = random.Next(3) == 0,
                    GenomicDatabaseConsent = (ConsentDecision)random.Next(3),
                });
            }
            record.Biomarkers.Clear();
            foreach (var marker in Markers.Where(_ => random.Next(3) == 0))
            {
                record.Biomarkers.Add(new Biomarker { Gene = marker.Gene, AlterationType = marker.Type });
                if (random.Next(4) == 0)
                {
                    record.Biomarkers.Add(new Biomarker { Gene = marker.Gene, AlterationType = marker.Type, Detail = "再検出" });
                }
            }
            record.TreatmentLines[0].BestResponse = (RecistResponse)random.Next(6);
            record.TreatmentLines[0].BestResponseDate = record.TreatmentLines[0].BestResponse == RecistResponse.Unspecified ? "" : "2025-08-01";
            record.TreatmentLines[1].BiomarkerMatched = random.Next(2) == 0;
            record.FollowUp.ProgressionDate = random.Next(2) == 0 ? "2025-09-20" : "";
            record.FollowUp.DeathDate = random.Next(5) == 0 ? "2026-01-05" : "";
            record.FollowUp.LastContactDate = "2026-02-01";
            records.Add(record);
        }
        await registry.DeliverAsync(HubStore.NodeId, records, Ct);
        // Second versions: a changed category, or consent to secondary use given or taken back.
        for (var i = 0; i < 300; i += 7)
        {
            var next = records[i].Clone();
            next.Version = 2;
            next.Diagnosis.Category = OrganSystem.Bone;
            next.Consent.SecondaryUse = !next.Consent.SecondaryUse;
            records[i] = next;
        }
        await registry.DeliverAsync(HubStore.NodeId, records.Where(r => r.Version == 2).ToList(), Ct);
        // Two more versions of a record in one delivery (facts gathered per delivery): only the later one counts.
        var twice = new List<RegistryRecord>();
        for (var i = 2; i < 300; i += 13)
        {
            var next = records[i].Clone();
            next.Version++;
            next.Diagnosis.Category = OrganSystem.Gynecologic;
            next.Consent.SecondaryUse = !next.Consent.SecondaryUse;
            var last = next.Clone();
            last.Version++;
            last.Consent.SecondaryUse = random.Next(2) == 0;
            last.Biomarkers.Add(new Biomarker { Gene = "NTRK1", AlterationType = AlterationType.Fusion });
            twice.AddRange([next, last]);
            records[i] = last;
        }
        Assert.All(await registry.DeliverAsync(HubStore.NodeId, twice, Ct), result => Assert.Equal(RegistryDeliveryOutcome.Stored, result.Outcome));
        foreach (var withdrawn in records.Where((_, i) => i % 23 == 5).ToList())
        {
            await registry.WithdrawAsync(HubStore.NodeId, new DeliverRegistryWithdrawalRequest
            {
                RecordId = withdrawn.RecordId, PatientPseudonym = withdrawn.PatientPseudonym, WithdrawnOn = "2026-02-02", RecordedBy = "tester",
            }, Ct);
            records.Remove(withdrawn);
        }
        return records.Where(r => r.Consent.SecondaryUse).ToList();
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task RegistryFigures_CountExactlyWhatConsentAllows_AsCountedByHand(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        var consented = await SeedRegistryAsync(hub);
        var designation = Facilities.ToDictionary(f => f.Code, f => f.Designation);

        var enrolment = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.RegistryEnrolment })).Tables);
        Assert.Equal(Months, enrolment.Rows.Take(Months.Length).Select(r => r.Code));
        foreach (var month in Months)
        {
            foreach (var category in Categories)
            {
                Assert.Equal(consented.Count(r => r.EnrolmentDate.StartsWith(month, StringComparison.Ordinal) && r.Diagnosis.Category == category),
                    Cell(enrolment, month, category.ToString()).Count);
            }
        }
        Assert.Equal(consented.Count, Cell(enrolment, "total", "total").Count);

        // Filtered to one region, by prefecture and facility type.
        var kinki = Assert.Single((await FigureAsync(hub, new FigureQuery
        {
            Figure = Figure.RegistryEnrolment, Rows = Dimension.Prefecture, Columns = Dimension.Designation, Filter = new StatisticsFilter { Region = "Kinki" },
        })).Tables);
        Assert.Equal(["大阪府", "total"], kinki.Rows.Select(r => r.Code));
        Assert.Equal(consented.Count(r => r.Prefecture == "大阪府" && designation[r.EnrollingFacilityCode] == FacilityDesignation.GenomicHub),
            Cell(kinki, "大阪府", "designation:GenomicHub").Count);

        var tests = consented.SelectMany(r => r.PanelTests).ToList();
        var panel = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.PanelTests })).Tables);
        FacilityDesignation TypeOf(PanelTest t) => designation.GetValueOrDefault(t.PerformingFacilityCode, FacilityDesignation.Unspecified);
        foreach (var month in Months)
        {
            foreach (var type in Enum.GetValues<FacilityDesignation>().Where(d => d != FacilityDesignation.RareCancerCoreCenter))
            {
                Assert.Equal(tests.Count(t => t.OrderedDate.StartsWith(month, StringComparison.Ordinal) && TypeOf(t) == type),
                    Cell(panel, month, StatisticsLabels.DesignationCode(type)).Count);
            }
            Assert.Equal(tests.Count(t => t.OrderedDate.StartsWith(month, StringComparison.Ordinal)), Cell(panel, month, "total").Count);
        }
        Assert.Equal(tests.Count, Cell(panel, "total", "total").Count);

        var consent = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.GenomicConsent })).Tables);
        var decided = tests.Where(t => t.GenomicDatabaseConsent != ConsentDecision.Unspecified).ToList();
        Assert.Equal(decided.Count, Cell(consent, "total", "decided").Count);
        Assert.Equal(decided.Count(t => t.GenomicDatabaseConsent == ConsentDecision.Yes), Cell(consent, "total", "consent_rate").Rate.Numerator);
        var core = decided.Where(t => TypeOf(t) == FacilityDesignation.GenomicCore).ToList();
        Assert.Equal(core.Count, Cell(consent, "designation:GenomicCore", "consent_rate").Rate.Denominator);

        var funnel = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ActionableFunnel })).Tables);
        var tested = consented.Where(r => r.PanelTests.Count > 0).ToList();
        var recommended = tested.Where(r => r.PanelTests.Any(t => t.TreatmentRecommended)).ToList();
        Assert.Equal(tested.Count, Cell(funnel, "panel_tested", "patients").Count);
        Assert.Equal(tested.Count(r => r.PanelTests.Any(t => t.ActionableAlterationFound)), Cell(funnel, "actionable", "patients").Count);
        Assert.Equal(recommended.Count, Cell(funnel, "recommended", "patients").Count);
        Assert.Equal(recommended.Count(r => r.TreatmentLines.Any(l => l.BiomarkerMatched)), Cell(funnel, "reached", "patients").Count);
        Assert.Equal(tested.Count, Cell(funnel, "reached", "of_tested").Rate.Denominator);

        var prevalence = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.BiomarkerPrevalence })).Tables);
        foreach (var (gene, type) in Markers)
        {
            var patients = tested.Count(r => r.Biomarkers.Any(b => b.Gene == gene && b.AlterationType == type));
            var cell = Cell(prevalence, $"{gene}:{StatisticsLabels.AlterationCode(type)}", "prevalence");
            Assert.Equal((patients, (long)tested.Count), (cell.Rate.Numerator, cell.Rate.Denominator));
        }

        var outcomes = await FigureAsync(hub, new FigureQuery { Figure = Figure.TreatmentOutcomes, Cohort = new TreatmentCohort { Regimen = " パゾパニブ " } });
        var lines = consented.Select(r => (Line: r.TreatmentLines[0], r.FollowUp)).ToList();
        var assessed = lines.Where(l => l.Line.BestResponse != RecistResponse.Unspecified).ToList();
        var orr = Cell(outcomes.Tables.Single(t => t.Key == "response_rates"), "orr", "rate").Rate;
        Assert.Equal(assessed.Count(l => l.Line.BestResponse is RecistResponse.CompleteResponse or RecistResponse.PartialResponse), orr.Numerator);
        Assert.Equal(assessed.Count, orr.Denominator);
        Assert.Equal(assessed.Count(l => l.Line.BestResponse is RecistResponse.CompleteResponse or RecistResponse.PartialResponse or RecistResponse.StableDisease),
            Cell(outcomes.Tables.Single(t => t.Key == "response_rates"), "dcr", "rate").Rate.Numerator);
        var pfs = outcomes.Curves.Single(c => c.Key == "pfs");
        // Every line started 2025-06-01 and has contact 2026-02-01: each is an observation; events are progressions or deaths.
        Assert.Equal(lines.Count, pfs.Patients);
        Assert.Equal(lines.Count(l => l.FollowUp.ProgressionDate.Length > 0 || l.FollowUp.DeathDate.Length > 0), pfs.Events);
        Assert.Equal(lines.Count(l => l.FollowUp.DeathDate.Length > 0), outcomes.Curves.Single(c => c.Key == "os").Events);
        // Followed to the last contact (2025-06-01 to 2026-02-01: 245 days), unless a death came first.
        Assert.Equal(245 / (365.25 / 12), outcomes.Curves.Single(c => c.Key == "os").FollowedUntil, 9);
        var byTrial = await FigureAsync(hub, new FigureQuery { Figure = Figure.TreatmentOutcomes, Cohort = new TreatmentCohort { TrialId = "jRCT2031250001" } });
        Assert.Equal(consented.Count, byTrial.Curves.Single(c => c.Key == "os").Patients);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task FactsAreBuiltOnce_ForRecordsStoredBeforeTheStatistics(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        var consented = await SeedRegistryAsync(hub);
        await hub.ExecuteAsync("DELETE FROM registry_biomarker_facts; DELETE FROM registry_treatment_facts; DELETE FROM registry_panel_test_facts; DELETE FROM registry_record_facts;");
        Assert.True(await RegistryFacts.BuildOnceAsync(hub.Database, TimeProvider.System, Ct) > consented.Count);
        var enrolment = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.RegistryEnrolment })).Tables);
        Assert.Equal(consented.Count, Cell(enrolment, "total", "total").Count);
        // Built once: a second start-up reads nothing.
        Assert.Equal(0, await RegistryFacts.BuildOnceAsync(hub.Database, TimeProvider.System, Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task ConsultationAndReferralFigures_AsCountedByHand(HubStorageProvider provider)
    {
        await using var hub = await CreateAsync(provider);
        await hub.AddExpertAsync("e1", 50, OrganSystem.Bone);
        var start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        // Bone: 12 reported after 1..12 days (2 minor, 1 major discordance); 3 open with e1; soft tissue: 4 reported after 3 days.
        for (var i = 1; i <= 12; i++)
        {
            var concordance = i <= 2 ? Concordance.MinorDiscordance : i == 3 ? Concordance.MajorDiscordance : Concordance.Concordant;
            await InsertConsultationAsync(hub, OrganSystem.Bone, start, start.AddDays(i), concordance, ConsultationStatus.Reported, "CORE-004");
        }
        for (var i = 0; i < 3; i++)
        {
            await InsertConsultationAsync(hub, OrganSystem.Bone, start, null, Concordance.Unspecified, ConsultationStatus.Assigned, "CORE-001");
        }
        for (var i = 0; i < 4; i++)
        {
            await InsertConsultationAsync(hub, OrganSystem.SoftTissue, start, start.AddDays(3), Concordance.Concordant, ConsultationStatus.Acknowledged, "CORE-001");
        }
        // 2026-03-31 16:00 UTC is 1 April in Japan.
        await InsertConsultationAsync(hub, OrganSystem.SoftTissue, new DateTimeOffset(2026, 3, 31, 16, 0, 0, TimeSpan.Zero), null, Concordance.Unspecified,
            ConsultationStatus.Received, "CORE-004");
        // A withdrawn patient's consultation is never counted.
        await InsertConsultationAsync(hub, OrganSystem.Bone, start, start.AddDays(1), Concordance.Concordant, ConsultationStatus.Reported, "CORE-004", pseudonym: new string('9', 64));
        await hub.ExecuteAsync($"INSERT INTO registry_withdrawals VALUES ('{Guid.CreateVersion7()}', '{new string('9', 64)}', '2026-03-01', 'tester', '2026-03-01T00:00:00.0000000Z')");

        var counts = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ConsultationCounts })).Tables);
        Assert.Equal(["2026-03", "2026-04", "total"], counts.Rows.Select(r => r.Code));
        Assert.Equal(15, Cell(counts, "2026-03", "Bone").Count);
        Assert.Equal(4, Cell(counts, "2026-03", "SoftTissue").Count);
        Assert.Equal(1, Cell(counts, "2026-04", "SoftTissue").Count);
        Assert.Equal(20, Cell(counts, "total", "total").Count);

        var turnaround = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ConsultationTurnaround })).Tables);
        Assert.Equal(12, Cell(turnaround, "Bone", "reported").Count);
        Assert.Equal(6.5, Cell(turnaround, "Bone", "median_days").Measure.Value, 9);
        Assert.Equal(10.9, Cell(turnaround, "Bone", "p90_days").Measure.Value, 9);
        Assert.Equal(3.0, Cell(turnaround, "SoftTissue", "median_days").Measure.Value, 9);

        async Task<StatisticsTable> ExactDiscordanceAsync() => Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ConsultationDiscordance })).Tables);
        var discordance = await ExactDiscordanceAsync();
        var minor = Cell(discordance, "Bone", "minor");
        Assert.Equal((2L, 12L), (minor.Rate.Numerator, minor.Rate.Denominator));
        // R: binom.test(1, 12)$conf.int = 0.002107593 0.384796165 (to 7 places)
        var major = Cell(discordance, "Bone", "major").Rate;
        Assert.Equal((1L, 12L), (major.Numerator, major.Denominator));
        Assert.Equal(0.002107593, major.Lower, 7);
        Assert.Equal(0.384796165, major.Upper, 7);
        Assert.True(Cell(discordance, "Bone", "major").Suppressed);
        Assert.Equal(SuppressionReason.SmallDenominator, Cell(discordance, "Bone", "major").Reason);
        Assert.Equal(SuppressionReason.Complementary, Cell(discordance, "Bone", "reported").Reason);

        var released = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ConsultationDiscordance }, exact: false)).Tables);
        Assert.Equal(StatisticsCell.ValueOneofCase.None, Cell(released, "Bone", "major").ValueCase);
        Assert.Equal(SuppressionReason.Unspecified, Cell(released, "Bone", "major").Reason);
        // Soft tissue's 4 is small; bone's 12 is hidden with it (else the total 16 gives it away), and with it bone's rates.
        Assert.True(Cell(released, "SoftTissue", "reported").Suppressed);
        Assert.True(Cell(released, "Bone", "reported").Suppressed);
        Assert.Equal(16, Cell(released, "total", "reported").Count);

        var backlog = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ExpertBacklog })).Tables);
        Assert.Equal(3, Cell(backlog, "e1", "open").Count);

        // Referrals: 8 to a facility from Kanto to Kinki (5 accepted after 2 days, 2 rejected), 4 to a trial within Kanto
        // (3 accepted after 4 days, 2 enrolled) — for three patients, one referred twice.
        for (var i = 0; i < 8; i++)
        {
            await InsertReferralAsync(hub, "facility", "CORE-001", start, i < 5 ? start.AddDays(2) : null, rejected: i is 5 or 6, ReferralOutcome.Unspecified, $"{i % 10}");
        }
        for (var i = 0; i < 4; i++)
        {
            await InsertReferralAsync(hub, "trial_arm", "COOP-7", start, i < 3 ? start.AddDays(4) : null, rejected: false,
                i < 2 ? ReferralOutcome.EnrolledInTrial : ReferralOutcome.Unspecified, i == 3 ? "a" : $"{(char)('a' + i)}");
        }
        var referrals = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ReferralCounts })).Tables);
        Assert.Equal(8, Cell(referrals, "kind:facility", "outcome:Unspecified").Count);
        Assert.Equal(2, Cell(referrals, "kind:trial_arm", "outcome:EnrolledInTrial").Count);
        var acceptance = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.ReferralAcceptance })).Tables);
        Assert.Equal((5L, 7L), (Cell(acceptance, "kind:facility", "acceptance_rate").Rate.Numerator, Cell(acceptance, "kind:facility", "acceptance_rate").Rate.Denominator));
        Assert.Equal(2.0, Cell(acceptance, "kind:facility", "median_days_to_acceptance").Measure.Value, 9);
        Assert.Equal(4.0, Cell(acceptance, "kind:trial_arm", "median_days_to_acceptance").Measure.Value, 9);
        Assert.Equal((8L, 12L), (Cell(acceptance, "total", "cross_region").Rate.Numerator, Cell(acceptance, "total", "cross_region").Rate.Denominator));
        var trials = Assert.Single((await FigureAsync(hub, new FigureQuery { Figure = Figure.TrialFunnel })).Tables);
        Assert.Equal(3, Cell(trials, "referred", "patients").Count);
        Assert.Equal(2, Cell(trials, "enrolled", "patients").Count);
    }

    private static Task InsertConsultationAsync(HubStore hub, OrganSystem organ, DateTimeOffset submitted, DateTimeOffset? reported, Concordance concordance,
        ConsultationStatus status, string facility, string? pseudonym = null) =>
        hub.Database.WriteAsync(async (connection, transaction) =>
        {
            var id = Guid.CreateVersion7().ToString();
            await using (var insert = connection.Command(
                """
                INSERT INTO consultations (consultation_id, spoke_node_id, facility_code, patient_pseudonym, submitted_by, submitted_at, received_at, organ_system,
                    urgency, details, delivery_sha256, status, assigned_expert_id, assigned_at, updated_at, first_reported_at)
                VALUES (@id, 'spoke-test', @facility, @pseudonym, 'tester', @submitted, @submitted, @organ, 1, @details, @sha, @status, @expert, @submitted, @submitted, @reported)
                """, transaction)
                .With("@id", id).With("@facility", facility).With("@pseudonym", pseudonym ?? new string('c', 64)).With("@submitted", submitted.ToDbText())
                .With("@organ", (int)organ).With("@details", new byte[] { 0 }).With("@sha", new string('0', 64)).With("@status", (int)status)
                .With("@expert", status == ConsultationStatus.Received ? null : "e1").With("@reported", reported?.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(Ct);
            }
            if (reported is { } at)
            {
                await using var report = connection.Command(
                    "INSERT INTO consultation_reports (consultation_id, version, concordance, signed_by_expert_id, signed_at, report) VALUES (@id, 1, @concordance, 'e1', @at, @report)",
                    transaction).With("@id", id).With("@concordance", (int)concordance).With("@at", at.ToDbText()).With("@report", new byte[] { 0 });
                await report.ExecuteNonQueryAsync(Ct);
            }
        }, Ct);

    private static Task InsertReferralAsync(HubStore hub, string kind, string receiving, DateTimeOffset created, DateTimeOffset? accepted, bool rejected,
        ReferralOutcome outcome, string patient) =>
        hub.Database.WriteAsync(async (connection, transaction) =>
        {
            var id = Guid.CreateVersion7().ToString();
            await using (var insert = connection.Command(
                """
                INSERT INTO referrals (referral_id, sending_node_id, sending_facility_code, receiving_node_id, receiving_facility_code, target_kind, urgency, state, outcome,
                    request_sha256, referral, created_at, received_at, updated_at, patient_pseudonym)
                VALUES (@id, 'spoke-test', 'CORE-004', 'spoke-test', @receiving, @kind, 1, 1, @outcome, @sha, @referral, @created, @created, @created, @pseudonym)
                """, transaction)
                .With("@id", id).With("@receiving", receiving).With("@kind", kind).With("@outcome", (int)outcome).With("@sha", new string('0', 64))
                .With("@referral", new byte[] { 0 }).With("@created", created.ToDbText()).With("@pseudonym", new string(patient[0], 64)))
            {
                await insert.ExecuteNonQueryAsync(Ct);
            }
            var transitions = new List<(ReferralState State, DateTimeOffset At)>();
            if (accepted is { } at)
            {
                transitions.Add((ReferralState.Accepted, at));
            }
            if (rejected)
            {
                transitions.Add((ReferralState.Rejected, created.AddDays(1)));
            }
            for (var i = 0; i < transitions.Count; i++)
            {
                await using var transition = connection.Command(
                    """
                    INSERT INTO referral_transitions (transition_id, referral_id, sequence, from_state, to_state, occurred_at, applied_at, made_by, made_by_facility_code, transition)
                    VALUES (@tid, @id, @sequence, 2, @to, @at, @at, 'coordinator', @receiving, @blob)
                    """, transaction)
                    .With("@tid", Guid.CreateVersion7().ToString()).With("@id", id).With("@sequence", i + 1).With("@to", (int)transitions[i].State)
                    .With("@at", transitions[i].At.ToDbText()).With("@receiving", receiving).With("@blob", new byte[] { 0 });
                await transition.ExecuteNonQueryAsync(Ct);
            }
        }, Ct);

    [Fact]
    public void Release_HidesRatesOfSmallNumbersAndEveryRateOfARowWhoseCountIsHidden()
    {
        var cells = new DraftCell[3, 2];
        cells[0, 0] = new CountCell(40);
        cells[0, 1] = new RateCell(20, 40);
        cells[1, 0] = new CountCell(4);
        cells[1, 1] = new RateCell(0, 4);
        cells[2, 0] = new CountCell(44);
        cells[2, 1] = new RateCell(20, 44);
        var draft = new TableDraft("t", "表", "table", "人", "patients", Dimension.Item, Dimension.Measure,
            [StatisticsLabels.Of("a"), StatisticsLabels.Of("b"), StatisticsLabels.Total], [StatisticsLabels.Of("n"), StatisticsLabels.Of("rate")],
            TotalRow: true, TotalColumn: false, cells);
        var figure = new FigureDraft("図", "figure", [draft], [], 44, "", "");
        var released = Assert.Single(FigureRelease.Release(Figure.ConsultationDiscordance, figure, [], 10, exact: false).Tables);
        // b's 4 is small; a's 40 is hidden with it (else the total gives b away), and so are both rows' rates.
        Assert.All(released.Cells.Take(4), c => Assert.True(c.Suppressed));
        Assert.All(released.Cells.Take(4), c => Assert.Equal(StatisticsCell.ValueOneofCase.None, c.ValueCase));
        Assert.Equal(44, released.Cells[4].Count);
        Assert.Equal((20L, 44L), (released.Cells[5].Rate.Numerator, released.Cells[5].Rate.Denominator));
    }

    [Fact]
    public void Csv_IsUtf8WithBom_HeadersInJapaneseAndEnglish_HiddenCellsX_Provenance()
    {
        var cells = new DraftCell[2, 2];
        cells[0, 0] = new CountCell(25);
        cells[0, 1] = new RateCell(5, 25);
        cells[1, 0] = new CountCell(25);
        cells[1, 1] = new RateCell(12, 25);
        var draft = new TableDraft("t", "表", "table", "人", "patients", Dimension.OrganSystem, Dimension.Measure,
            [StatisticsLabels.Of("Bone"), StatisticsLabels.Total], [StatisticsLabels.Of("n", "件数", "Cases"), StatisticsLabels.Of("rate", "割合", "Rate")],
            TotalRow: true, TotalColumn: false, cells);
        var result = FigureRelease.Release(Figure.ConsultationDiscordance, new FigureDraft("不一致", "Discordance", [draft], [], 25, "同意", "consent"), [], 10, exact: false);
        result.Provenance = new Provenance
        {
            RecordsCounted = 25, Threshold = 10, ConsentRuleJa = "同意", ConsentRuleEn = "consent", FiltersJa = "全国", FiltersEn = "whole country",
            AsOf = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero)),
        };
        var bytes = StatisticsCsv.Write(result, "t")!;
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var lines = new UTF8Encoding(false).GetString(bytes[3..]).Split("\r\n");
        Assert.Equal("臓器・がん種 (Organ system),英語表記 (English),件数 (Cases),割合：分子 (Rate: numerator),割合：分母 (Rate: denominator),"
            + "割合：割合 (Rate: proportion),割合：95%信頼区間下限 (Rate: 95% lower),割合：95%信頼区間上限 (Rate: 95% upper)", lines[0]);
        Assert.Equal("骨,Bone,25,X,X,X,X,X", lines[1]);
        Assert.StartsWith("計,Total,25,12,25,0.48,", lines[2], StringComparison.Ordinal);
        Assert.Contains("時点（日本時間） (As of (Japan time)),2026-11-24 10:00:00", lines, StringComparer.Ordinal);
        Assert.Null(StatisticsCsv.Write(result, "no-such-table"));
    }
}
