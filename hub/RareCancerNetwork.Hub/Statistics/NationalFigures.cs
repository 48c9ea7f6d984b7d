using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// Computes each national figure exactly, as drafts: tables of counts, rates and measures, and survival curves. Nothing
/// here is released; <see cref="FigureRelease"/> protects the drafts (against the same figure with one filter fewer,
/// computed here too) before anything leaves the hub.
/// </summary>
public sealed class NationalFigures(StatisticsStore store)
{
    private const double DaysPerMonth = 365.25 / 12;
    private static readonly string[] ReferralKinds = ["kind:facility", "kind:trial_arm"];
    private const string RegistryConsentJa = "二次利用に同意した患者の登録のみ（同意撤回された登録はハブに残らない）";
    private const string RegistryConsentEn = "registry records whose patients consented to secondary use (a withdrawn record is gone from the hub)";
    private const string CareConsentJa = "登録への同意を撤回した患者の分は除外";
    private const string CareConsentEn = "those of patients who withdrew their registry consent are left out";

    /// <summary>The default rows and columns of the two-way count figures, and the dimensions each may be shown by.</summary>
    public static (Dimension Rows, Dimension Columns, Dimension[] Allowed)? PivotOf(Figure figure) => figure switch
    {
        Figure.ConsultationCounts => (Dimension.Month, Dimension.OrganSystem,
            [Dimension.Month, Dimension.Region, Dimension.Prefecture, Dimension.OrganSystem, Dimension.Designation]),
        Figure.ReferralCounts => (Dimension.ReferralKind, Dimension.ReferralOutcome,
            [Dimension.Month, Dimension.Region, Dimension.Prefecture, Dimension.Designation, Dimension.ReferralKind, Dimension.ReferralOutcome]),
        Figure.RegistryEnrolment => (Dimension.Month, Dimension.OrganSystem,
            [Dimension.Month, Dimension.Region, Dimension.Prefecture, Dimension.OrganSystem, Dimension.Designation]),
        Figure.PanelTests => (Dimension.Month, Dimension.Designation,
            [Dimension.Month, Dimension.Region, Dimension.Prefecture, Dimension.OrganSystem, Dimension.Designation]),
        Figure.HotlineCalls => (Dimension.Month, Dimension.HotlineCentre,
            [Dimension.Month, Dimension.Region, Dimension.Prefecture, Dimension.OrganSystem, Dimension.Designation, Dimension.HotlineCentre]),
        _ => null,
    };

    /// <summary>The dimensions a figure's tables show (filters on them have no differencing twin).</summary>
    public static Dimension[] Shown(FigureQuery query, Dimension rows, Dimension columns) => query.Figure switch
    {
        Figure.ConsultationTurnaround or Figure.ConsultationDiscordance => [Dimension.OrganSystem],
        Figure.GenomicConsent => [Dimension.Designation],
        Figure.HotlineOutcomes => [Dimension.HotlineCentre],
        _ when PivotOf(query.Figure) is not null => [rows, columns],
        _ => [],
    };

    /// <param name="snapshot">The reads of one answer, shared by the figure and its twins.</param>
    public async Task<FigureDraft> ComputeAsync(FigureQuery query, Dimension rows, Dimension columns, FigureFilter filter, FigureSnapshot snapshot,
        CancellationToken cancellationToken)
    {
        var categories = new CategoryLists(snapshot.Prefectures, filter);
        return query.Figure switch
        {
            Figure.ConsultationCounts => await ConsultationCountsAsync(snapshot, rows, columns, filter, categories, cancellationToken),
            Figure.ConsultationTurnaround => await TurnaroundAsync(snapshot, filter, categories, cancellationToken),
            Figure.ConsultationDiscordance => await DiscordanceAsync(snapshot, filter, categories, cancellationToken),
            Figure.ExpertBacklog => await BacklogAsync(snapshot, filter, cancellationToken),
            Figure.ReferralCounts => await ReferralCountsAsync(snapshot, rows, columns, filter, categories, cancellationToken),
            Figure.ReferralAcceptance => await AcceptanceAsync(snapshot, filter, cancellationToken),
            Figure.TrialFunnel => await TrialFunnelAsync(snapshot, filter, cancellationToken),
            Figure.RegistryEnrolment => await RegistryPivotAsync(RegistrySource.Enrolment, "enrolment", "希少がん登録数", "Registry enrolment", "患者", "patients",
                rows, columns, filter, categories, cancellationToken),
            Figure.PanelTests => await RegistryPivotAsync(RegistrySource.PanelTests, "panel_tests", "遺伝子パネル検査数", "Gene-panel tests", "検査", "tests",
                rows, columns, filter, categories, cancellationToken),
            Figure.GenomicConsent => await GenomicConsentAsync(filter, categories, cancellationToken),
            Figure.ActionableFunnel => await ActionableFunnelAsync(filter, cancellationToken),
            Figure.BiomarkerPrevalence => await BiomarkerPrevalenceAsync(filter, cancellationToken),
            Figure.TreatmentOutcomes => await TreatmentOutcomesAsync(query.Cohort, filter, cancellationToken),
            Figure.HotlineCalls => await HotlineCallsAsync(snapshot, rows, columns, filter, categories, cancellationToken),
            Figure.HotlineTopics => await HotlineTopicsAsync(snapshot, filter, cancellationToken),
            Figure.HotlineOutcomes => await HotlineOutcomesAsync(snapshot, filter, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(query), query.Figure, "not a figure"),
        };
    }

    private static async Task<FigureDraft> ConsultationCountsAsync(FigureSnapshot snapshot, Dimension rows, Dimension columns, FigureFilter filter, CategoryLists categories,
        CancellationToken cancellationToken)
    {
        var facts = (await snapshot.ConsultationsAsync(cancellationToken)).Where(c => filter.Matches(c.Dimensions)).ToList();
        var table = CountGrid("counts", "コンサルテーション件数", "Consultations received", "件", "consultations", rows, columns, categories,
            facts.Select(f => (f.Dimensions.Of(rows), f.Dimensions.Of(columns), 1L)));
        return new FigureDraft("コンサルテーション件数", "Consultations", [table], [], facts.Count, CareConsentJa, CareConsentEn);
    }

    private static async Task<FigureDraft> TurnaroundAsync(FigureSnapshot snapshot, FigureFilter filter, CategoryLists categories, CancellationToken cancellationToken)
    {
        var reported = (await snapshot.ConsultationsAsync(cancellationToken))
            .Where(c => filter.Matches(c.Dimensions) && c.FirstReportAt is not null).ToList();
        var organs = categories.Of(Dimension.OrganSystem, []);
        var groups = organs.Select(o => reported.Where(c => c.Dimensions.Organ == o.Code).ToList()).Append(reported).ToList();
        var cells = new DraftCell[groups.Count, 3];
        for (var i = 0; i < groups.Count; i++)
        {
            var days = groups[i].Select(c => (c.FirstReportAt!.Value - c.SubmittedAt).TotalDays).Order().ToList();
            cells[i, 0] = new CountCell(days.Count);
            cells[i, 1] = days.Count == 0 ? EmptyCell.Instance : new MeasureCell(ExactMethods.Quantile(days, 0.5), null, null, "days", days.Count);
            cells[i, 2] = days.Count == 0 ? EmptyCell.Instance : new MeasureCell(ExactMethods.Quantile(days, 0.9), null, null, "days", days.Count);
        }
        var table = new TableDraft("turnaround", "提出から報告までの日数", "Days from submission to the first report", "件", "consultations",
            Dimension.OrganSystem, Dimension.Measure, [.. organs, StatisticsLabels.Total],
            [StatisticsLabels.Of("reported", "報告済み件数", "Reported"), StatisticsLabels.Of("median_days", "中央値（日）", "Median (days)"),
                StatisticsLabels.Of("p90_days", "90パーセンタイル（日）", "90th percentile (days)")],
            TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("報告までの日数", "Turnaround", [table], [], reported.Count, CareConsentJa, CareConsentEn);
    }

    private static async Task<FigureDraft> DiscordanceAsync(FigureSnapshot snapshot, FigureFilter filter, CategoryLists categories, CancellationToken cancellationToken)
    {
        var judged = (await snapshot.ConsultationsAsync(cancellationToken))
            .Where(c => filter.Matches(c.Dimensions) && c.LatestConcordance != Concordance.Unspecified).ToList();
        var organs = categories.Of(Dimension.OrganSystem, []);
        var groups = organs.Select(o => judged.Where(c => c.Dimensions.Organ == o.Code).ToList()).Append(judged).ToList();
        var cells = new DraftCell[groups.Count, 3];
        for (var i = 0; i < groups.Count; i++)
        {
            var n = groups[i].Count;
            cells[i, 0] = new CountCell(n);
            cells[i, 1] = new RateCell(groups[i].Count(c => c.LatestConcordance == Concordance.MinorDiscordance), n);
            cells[i, 2] = new RateCell(groups[i].Count(c => c.LatestConcordance == Concordance.MajorDiscordance), n);
        }
        var table = new TableDraft("discordance", "診断の不一致率", "Discordance with the submitted diagnosis", "件", "consultations",
            Dimension.OrganSystem, Dimension.Measure, [.. organs, StatisticsLabels.Total],
            [StatisticsLabels.Of("reported", "報告済み件数", "Reported"), StatisticsLabels.Of("minor", "軽微な不一致", "Minor discordance"),
                StatisticsLabels.Of("major", "重大な不一致", "Major discordance")],
            TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("診断の不一致", "Discordance", [table], [], judged.Count, CareConsentJa, CareConsentEn);
    }

    private static async Task<FigureDraft> BacklogAsync(FigureSnapshot snapshot, FigureFilter filter, CancellationToken cancellationToken)
    {
        var open = (await snapshot.ConsultationsAsync(cancellationToken))
            .Where(c => filter.Matches(c.Dimensions) && c.ExpertId is not null && c.Status is ConsultationStatus.Assigned or ConsultationStatus.InformationRequested)
            .ToList();
        var experts = await snapshot.ExpertsAsync(cancellationToken);
        var rows = experts.Select(e => StatisticsLabels.Of(e.Key, e.Value, e.Value)).ToList();
        var cells = new DraftCell[rows.Count + 1, 1];
        for (var i = 0; i < rows.Count; i++)
        {
            cells[i, 0] = new CountCell(open.Count(c => c.ExpertId == rows[i].Code));
        }
        cells[rows.Count, 0] = new CountCell(open.Count(c => experts.ContainsKey(c.ExpertId!)));
        var table = new TableDraft("backlog", "専門医ごとの未報告件数", "Open consultations per expert", "件", "consultations", Dimension.Item, Dimension.Measure,
            [.. rows, StatisticsLabels.Total], [StatisticsLabels.Of("open", "未報告", "Open")], TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("専門医の未報告件数", "Expert backlog", [table], [], open.Count, CareConsentJa, CareConsentEn);
    }

    private static async Task<FigureDraft> ReferralCountsAsync(FigureSnapshot snapshot, Dimension rows, Dimension columns, FigureFilter filter, CategoryLists categories,
        CancellationToken cancellationToken)
    {
        var facts = (await snapshot.ReferralsAsync(cancellationToken)).Where(r => filter.Matches(r.Dimensions)).ToList();
        var table = CountGrid("counts", "紹介件数", "Referrals", "件", "referrals", rows, columns, categories,
            facts.Select(f => (f.Dimensions.Of(rows), f.Dimensions.Of(columns), 1L)));
        return new FigureDraft("紹介件数", "Referrals", [table], [], facts.Count, CareConsentJa, CareConsentEn);
    }

    private static async Task<FigureDraft> AcceptanceAsync(FigureSnapshot snapshot, FigureFilter filter, CancellationToken cancellationToken)
    {
        var facts = (await snapshot.ReferralsAsync(cancellationToken)).Where(r => filter.Matches(r.Dimensions)).ToList();
        var kinds = ReferralKinds;
        var groups = kinds.Select(k => facts.Where(f => f.Dimensions.Kind == k).ToList()).Append(facts).ToList();
        var cells = new DraftCell[groups.Count, 5];
        for (var i = 0; i < groups.Count; i++)
        {
            var group = groups[i];
            var decided = group.Count(r => r.Accepted || r.Rejected);
            var days = group.Where(r => r.AcceptedAt is not null).Select(r => (r.AcceptedAt!.Value - r.CreatedAt).TotalDays).Order().ToList();
            cells[i, 0] = new CountCell(group.Count);
            cells[i, 1] = new CountCell(decided);
            cells[i, 2] = new RateCell(group.Count(r => r.Accepted), decided);
            cells[i, 3] = days.Count == 0 ? EmptyCell.Instance : new MeasureCell(ExactMethods.Quantile(days, 0.5), null, null, "days", days.Count);
            cells[i, 4] = new RateCell(group.Count(r => r.CrossesRegions), group.Count);
        }
        var table = new TableDraft("acceptance", "紹介の受入れ", "Acceptance of referrals", "件", "referrals", Dimension.ReferralKind, Dimension.Measure,
            [.. kinds.Select(StatisticsLabels.Of), StatisticsLabels.Total],
            [StatisticsLabels.Of("referrals", "紹介件数", "Referrals"), StatisticsLabels.Of("decided", "受否決定済み", "Decided"),
                StatisticsLabels.Of("acceptance_rate", "受入れ率", "Acceptance rate"), StatisticsLabels.Of("median_days_to_acceptance", "受入れまでの日数（中央値）", "Median days to acceptance"),
                StatisticsLabels.Of("cross_region", "地域をまたぐ紹介の割合", "Share crossing regions")],
            TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("紹介の受入れ", "Referral acceptance", [table], [], facts.Count, CareConsentJa, CareConsentEn);
    }

    private async Task<FigureDraft> TrialFunnelAsync(FigureSnapshot snapshot, FigureFilter filter, CancellationToken cancellationToken)
    {
        var referrals = (await snapshot.ReferralsAsync(cancellationToken)).Where(r => filter.Matches(r.Dimensions) && r.Dimensions.Kind == "kind:trial_arm").ToList();
        var matched = await store.PatientsMatchedAsync(filter, cancellationToken);
        var referred = referrals.Select(r => r.PatientPseudonym).Distinct(StringComparer.Ordinal).LongCount();
        var enrolled = referrals.Where(r => r.Dimensions.Outcome == StatisticsLabels.OutcomeCode(ReferralOutcome.EnrolledInTrial))
            .Select(r => r.PatientPseudonym).Distinct(StringComparer.Ordinal).LongCount();
        var cells = new DraftCell[3, 2];
        cells[0, 0] = new CountCell(matched);
        cells[0, 1] = EmptyCell.Instance;
        cells[1, 0] = new CountCell(referred);
        // Patients referred need not have been matched here (not in the registry, or matched at their spoke): no rate then.
        cells[1, 1] = referred <= matched ? new RateCell(referred, matched) : EmptyCell.Instance;
        cells[2, 0] = new CountCell(enrolled);
        cells[2, 1] = new RateCell(enrolled, referred);
        var table = new TableDraft("funnel", "治験：適格 → 紹介 → 登録", "Trials: matched → referred → enrolled", "人", "patients", Dimension.Item, Dimension.Measure,
            [StatisticsLabels.Of("matched", "公開中の試験に適格（現時点）", "Eligible for an open trial arm (today)"),
                StatisticsLabels.Of("referred", "試験へ紹介", "Referred to a trial"), StatisticsLabels.Of("enrolled", "試験に登録", "Enrolled")],
            [StatisticsLabels.Of("patients", "患者数", "Patients"), StatisticsLabels.Of("of_previous", "前段階に対する割合", "Share of the previous stage")],
            TotalRow: false, TotalColumn: false, cells);
        return new FigureDraft("治験への流れ", "Trial funnel", [table], [], matched + referrals.Count,
            "適格：二次利用に同意した登録のみ。紹介：" + CareConsentJa, "matched: " + RegistryConsentEn + "; referrals: " + CareConsentEn);
    }

    private async Task<FigureDraft> RegistryPivotAsync(RegistrySource source, string key, string titleJa, string titleEn, string unitJa, string unitEn,
        Dimension rows, Dimension columns, FigureFilter filter, CategoryLists categories, CancellationToken cancellationToken)
    {
        var counts = await store.AggregateAsync(source, [source.Expression(rows), source.Expression(columns)], ["COUNT(*)"], filter, null, cancellationToken);
        var table = CountGrid(key, titleJa, titleEn, unitJa, unitEn, rows, columns, categories,
            counts.Select(c => (Code(rows, c.Keys[0]), Code(columns, c.Keys[1]), c.Values[0])));
        return new FigureDraft(titleJa, titleEn, [table], [], counts.Sum(c => c.Values[0]), RegistryConsentJa, RegistryConsentEn);
    }

    private async Task<FigureDraft> GenomicConsentAsync(FigureFilter filter, CategoryLists categories, CancellationToken cancellationToken)
    {
        var source = RegistrySource.PanelTests;
        var counts = await store.AggregateAsync(source, [source.Expression(Dimension.Designation)],
            [$"SUM(CASE WHEN t.genomic_consent IN ({(int)ConsentDecision.Yes}, {(int)ConsentDecision.No}) THEN 1 ELSE 0 END)",
                $"SUM(CASE WHEN t.genomic_consent = {(int)ConsentDecision.Yes} THEN 1 ELSE 0 END)"],
            filter, null, cancellationToken);
        var byCode = counts.ToDictionary(c => Code(Dimension.Designation, c.Keys[0]), c => c.Values, StringComparer.Ordinal);
        var rows = categories.Of(Dimension.Designation, byCode.Keys);
        var cells = new DraftCell[rows.Count + 1, 2];
        for (var i = 0; i < rows.Count; i++)
        {
            var values = byCode.GetValueOrDefault(rows[i].Code) ?? [0, 0];
            cells[i, 0] = new CountCell(values[0]);
            cells[i, 1] = new RateCell(values[1], values[0]);
        }
        var decided = counts.Sum(c => c.Values[0]);
        cells[rows.Count, 0] = new CountCell(decided);
        cells[rows.Count, 1] = new RateCell(counts.Sum(c => c.Values[1]), decided);
        var table = new TableDraft("genomic_consent", "全国がんゲノム情報データベースへのデータ提出の同意率", "Consent to submit panel data to the national genomic database",
            "検査", "tests", Dimension.Designation, Dimension.Measure, [.. rows, StatisticsLabels.Total],
            [StatisticsLabels.Of("decided", "同意の有無が記録された検査", "Tests with a recorded decision"), StatisticsLabels.Of("consent_rate", "同意率", "Consent rate")],
            TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("ゲノムデータベースへの同意", "Genomic database consent", [table], [], decided, RegistryConsentJa, RegistryConsentEn);
    }

    private async Task<FigureDraft> ActionableFunnelAsync(FigureFilter filter, CancellationToken cancellationToken)
    {
        var sums = await store.AggregateAsync(RegistrySource.Enrolment, [],
            ["SUM(rf.panel_tested)", "SUM(rf.actionable)", "SUM(rf.recommended)", "SUM(rf.reached)"], filter, null, cancellationToken);
        var stages = sums.Count == 0 ? new long[4] : sums[0].Values;
        var cells = new DraftCell[4, 3];
        for (var i = 0; i < 4; i++)
        {
            cells[i, 0] = new CountCell(stages[i]);
            cells[i, 1] = i == 0 ? EmptyCell.Instance : new RateCell(stages[i], stages[0]);
            cells[i, 2] = i == 0 ? EmptyCell.Instance : new RateCell(stages[i], stages[i - 1]);
        }
        var table = new TableDraft("actionable", "遺伝子パネル検査から治療到達まで", "From panel test to recommended treatment", "人", "patients", Dimension.Item, Dimension.Measure,
            [StatisticsLabels.Of("panel_tested", "パネル検査を受けた患者", "Panel-tested patients"),
                StatisticsLabels.Of("actionable", "治療標的となる遺伝子異常あり", "With an actionable alteration"),
                StatisticsLabels.Of("recommended", "推奨治療あり", "With a recommended treatment"),
                StatisticsLabels.Of("reached", "推奨治療に到達", "Reached the recommended treatment")],
            [StatisticsLabels.Of("patients", "患者数", "Patients"), StatisticsLabels.Of("of_tested", "検査を受けた患者に対する割合", "Share of the panel-tested"),
                StatisticsLabels.Of("of_previous", "前段階に対する割合", "Share of the previous stage")],
            TotalRow: false, TotalColumn: false, cells);
        return new FigureDraft("パネル検査と治療到達", "Actionable alterations", [table], [], stages[0], RegistryConsentJa, RegistryConsentEn);
    }

    private async Task<FigureDraft> BiomarkerPrevalenceAsync(FigureFilter filter, CancellationToken cancellationToken)
    {
        var tested = (await store.AggregateAsync(RegistrySource.Enrolment, [], ["SUM(rf.panel_tested)"], filter, null, cancellationToken)) is [var only] ? only.Values[0] : 0;
        var source = RegistrySource.Biomarkers;
        var counts = await store.AggregateAsync(source, ["b.gene", "b.alteration_type"], ["COUNT(*)"], filter, "rf.panel_tested = 1", cancellationToken);
        var ordered = counts.OrderByDescending(c => c.Values[0]).ThenBy(c => c.Keys[0], StringComparer.Ordinal).ThenBy(c => c.Keys[1], StringComparer.Ordinal).ToList();
        var rows = ordered.Select(c =>
        {
            var alteration = StatisticsLabels.Of(StatisticsLabels.AlterationCode((AlterationType)int.Parse(c.Keys[1], System.Globalization.CultureInfo.InvariantCulture)));
            return StatisticsLabels.Of($"{c.Keys[0]}:{alteration.Code}", $"{c.Keys[0]} {alteration.LabelJa}", $"{c.Keys[0]} {alteration.LabelEn}");
        }).ToList();
        var cells = new DraftCell[rows.Count, 2];
        for (var i = 0; i < rows.Count; i++)
        {
            cells[i, 0] = new CountCell(ordered[i].Values[0]);
            cells[i, 1] = new RateCell(ordered[i].Values[0], tested);
        }
        var table = new TableDraft("prevalence", "バイオマーカーの頻度（パネル検査を受けた患者に対する割合）", "Biomarker prevalence among panel-tested patients", "人", "patients",
            Dimension.Item, Dimension.Measure, rows,
            [StatisticsLabels.Of("patients", "患者数", "Patients"), StatisticsLabels.Of("prevalence", "頻度", "Prevalence")],
            TotalRow: false, TotalColumn: false, cells);
        return new FigureDraft("バイオマーカーの頻度", "Biomarker prevalence", [table], [], tested, RegistryConsentJa, RegistryConsentEn);
    }

    private async Task<FigureDraft> TreatmentOutcomesAsync(TreatmentCohort cohort, FigureFilter filter, CancellationToken cancellationToken)
    {
        var lines = await store.TreatmentLinesAsync(cohort, filter, cancellationToken);
        var responses = new[] { RecistResponse.CompleteResponse, RecistResponse.PartialResponse, RecistResponse.StableDisease, RecistResponse.ProgressiveDisease, RecistResponse.NotEvaluable };
        var assessed = lines.Where(l => l.BestResponse != RecistResponse.Unspecified).ToList();
        var responseCells = new DraftCell[responses.Length + 1, 1];
        for (var i = 0; i < responses.Length; i++)
        {
            responseCells[i, 0] = new CountCell(assessed.Count(l => l.BestResponse == responses[i]));
        }
        responseCells[responses.Length, 0] = new CountCell(assessed.Count);
        var responseTable = new TableDraft("best_response", "最良総合効果", "Best overall response (RECIST)", "治療ライン", "treatment lines", Dimension.Item, Dimension.Measure,
            [.. responses.Select(r => StatisticsLabels.Of(StatisticsLabels.ResponseCode(r))), StatisticsLabels.Total],
            [StatisticsLabels.Of("lines", "治療ライン数", "Treatment lines")], TotalRow: true, TotalColumn: false, responseCells);
        var objective = assessed.Count(l => l.BestResponse is RecistResponse.CompleteResponse or RecistResponse.PartialResponse);
        var control = objective + assessed.Count(l => l.BestResponse == RecistResponse.StableDisease);
        var rateCells = new DraftCell[2, 1];
        rateCells[0, 0] = new RateCell(objective, assessed.Count);
        rateCells[1, 0] = new RateCell(control, assessed.Count);
        var rateTable = new TableDraft("response_rates", "奏効率と病勢制御率（正確95%信頼区間）", "Response and disease-control rates (exact 95% intervals)", "治療ライン", "treatment lines",
            Dimension.Item, Dimension.Measure,
            [StatisticsLabels.Of("orr", "奏効率 (CR+PR)", "Objective response rate (CR+PR)"), StatisticsLabels.Of("dcr", "病勢制御率 (CR+PR+SD)", "Disease-control rate (CR+PR+SD)")],
            [StatisticsLabels.Of("rate", "割合", "Rate")], TotalRow: false, TotalColumn: false, rateCells);
        var curves = new List<CurveDraft>
        {
            CurveDraft.Of("pfs", "無増悪生存期間", "Progression-free survival", "months", [.. Survival(lines, progression: true)]),
            CurveDraft.Of("os", "全生存期間", "Overall survival", "months", [.. Survival(lines, progression: false)]),
        };
        return new FigureDraft("治療成績", "Treatment outcomes", [responseTable, rateTable], curves, lines.Count, RegistryConsentJa, RegistryConsentEn);
    }

    /// <summary>
    /// Months from the line's start to progression or death (progression-free) or to death (overall), else censored at
    /// the last contact; a line with no date at or after its start says nothing of survival and is left out.
    /// </summary>
    public static IEnumerable<SurvivalObservation> Survival(IEnumerable<TreatmentFact> lines, bool progression)
    {
        foreach (var line in lines)
        {
            if (!DateOnly.TryParse(line.StartDate, System.Globalization.CultureInfo.InvariantCulture, out var start))
            {
                continue;
            }
            DateOnly? Since(string date) => DateOnly.TryParse(date, System.Globalization.CultureInfo.InvariantCulture, out var d) && d >= start ? d : null;
            var events = new[] { progression ? Since(line.ProgressionDate) : null, Since(line.DeathDate) }.Where(d => d is not null).Select(d => d!.Value).ToList();
            if (events.Count > 0)
            {
                yield return new SurvivalObservation((events.Min().DayNumber - start.DayNumber) / DaysPerMonth, true);
            }
            else if (Since(line.LastContactDate) is { } contact)
            {
                yield return new SurvivalObservation((contact.DayNumber - start.DayNumber) / DaysPerMonth, false);
            }
        }
    }

    private const string HotlineCountedJa = "ホットラインの相談記録（相談内容の記述と相談者の連絡先は各相談センターに留まり、ハブには届かない）";
    private const string HotlineCountedEn = "hotline calls as recorded (the notes and the caller's contact stay at the centre that took the call; the hub never has them)";

    private static async Task<FigureDraft> HotlineCallsAsync(FigureSnapshot snapshot, Dimension rows, Dimension columns, FigureFilter filter, CategoryLists categories,
        CancellationToken cancellationToken)
    {
        var facts = (await snapshot.HotlineCallsAsync(cancellationToken)).Where(c => filter.Matches(c.Dimensions)).ToList();
        var table = CountGrid("calls", "ホットライン相談件数", "Hotline calls", "件", "calls", rows, columns, categories,
            facts.Select(f => (f.Dimensions.Of(rows), f.Dimensions.Of(columns), 1L)));
        return new FigureDraft("ホットライン相談件数", "Hotline calls", [NameCentres(table, facts)], [], facts.Count, HotlineCountedJa, HotlineCountedEn);
    }

    private static async Task<FigureDraft> HotlineTopicsAsync(FigureSnapshot snapshot, FigureFilter filter, CancellationToken cancellationToken)
    {
        var facts = (await snapshot.HotlineCallsAsync(cancellationToken)).Where(c => filter.Matches(c.Dimensions)).ToList();
        var topics = Enum.GetValues<HotlineTopic>().Where(t => t != HotlineTopic.Unspecified).ToList();
        var cells = new DraftCell[topics.Count, 2];
        for (var i = 0; i < topics.Count; i++)
        {
            var about = facts.Count(f => f.Topics.Contains(topics[i]));
            cells[i, 0] = new CountCell(about);
            cells[i, 1] = new RateCell(about, facts.Count);
        }
        var table = new TableDraft("topics", "相談内容別の件数（1件の相談に複数の内容がありうる）", "Calls by topic (a call may have several topics)", "件", "calls",
            Dimension.Item, Dimension.Measure, [.. topics.Select(t => StatisticsLabels.Of(StatisticsLabels.TopicCode(t)))],
            [StatisticsLabels.Of("calls", "相談件数", "Calls"), StatisticsLabels.Of("share_of_calls", "全相談に占める割合", "Share of all calls")],
            TotalRow: false, TotalColumn: false, cells);
        return new FigureDraft("ホットラインの相談内容", "Hotline topics", [table], [], facts.Count, HotlineCountedJa, HotlineCountedEn);
    }

    private static async Task<FigureDraft> HotlineOutcomesAsync(FigureSnapshot snapshot, FigureFilter filter, CancellationToken cancellationToken)
    {
        var facts = (await snapshot.HotlineCallsAsync(cancellationToken)).Where(c => filter.Matches(c.Dimensions)).ToList();
        var centres = facts.Select(f => f.Dimensions.Centre).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var groups = centres.Select(c => facts.Where(f => f.Dimensions.Centre == c).ToList()).Append(facts).ToList();
        var cells = new DraftCell[groups.Count, 4];
        for (var i = 0; i < groups.Count; i++)
        {
            var group = groups[i];
            cells[i, 0] = new CountCell(group.Count);
            cells[i, 1] = new RateCell(group.Count(f => f.FacilitySuggested), group.Count);
            cells[i, 2] = new RateCell(group.Count(f => f.ReferralMade), group.Count);
            cells[i, 3] = new RateCell(group.Count(f => f.FacilitySuggested || f.ReferralMade), group.Count);
        }
        var table = new TableDraft("outcomes", "相談センター別：医療機関の紹介・紹介状の作成に至った割合", "By centre: the share that ended in a suggested facility or a referral",
            "件", "calls", Dimension.HotlineCentre, Dimension.Measure, [.. centres.Select(StatisticsLabels.Of), StatisticsLabels.Total],
            [StatisticsLabels.Of("calls", "相談件数", "Calls"), StatisticsLabels.Of("facility_suggested", "医療機関を案内", "Facility suggested"),
                StatisticsLabels.Of("referral_made", "紹介を実施", "Referral made"),
                StatisticsLabels.Of("suggested_or_referred", "案内または紹介", "Suggested or referred")],
            TotalRow: true, TotalColumn: false, cells);
        return new FigureDraft("ホットラインの相談結果", "Hotline outcomes", [NameCentres(table, facts)], [], facts.Count, HotlineCountedJa, HotlineCountedEn);
    }

    /// <summary>Centres are counted by facility code and shown by name.</summary>
    private static TableDraft NameCentres(TableDraft table, IReadOnlyList<HotlineFact> facts)
    {
        var names = facts.GroupBy(f => f.Dimensions.Centre, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().CentreName, StringComparer.Ordinal);
        var centres = (table.RowDimension == Dimension.HotlineCentre ? table.Rows : []).Concat(table.ColumnDimension == Dimension.HotlineCentre ? table.Columns : []);
        foreach (var category in centres.Where(c => names.ContainsKey(c.Code)))
        {
            category.LabelJa = names[category.Code];
            category.LabelEn = $"{names[category.Code]} ({category.Code})";
        }
        return table;
    }

    private static TableDraft CountGrid(string key, string titleJa, string titleEn, string unitJa, string unitEn, Dimension rows, Dimension columns,
        CategoryLists categories, IEnumerable<(string Row, string Column, long Count)> counts)
    {
        var list = counts.ToList();
        var rowCategories = categories.Of(rows, list.Select(c => c.Row));
        var columnCategories = categories.Of(columns, list.Select(c => c.Column));
        var rowIndex = rowCategories.Select((c, i) => (c.Code, i)).ToDictionary(x => x.Code, x => x.i, StringComparer.Ordinal);
        var columnIndex = columnCategories.Select((c, i) => (c.Code, i)).ToDictionary(x => x.Code, x => x.i, StringComparer.Ordinal);
        var grid = new long[rowCategories.Count + 1, columnCategories.Count + 1];
        foreach (var (row, column, count) in list)
        {
            if (rowIndex.TryGetValue(row, out var r) && columnIndex.TryGetValue(column, out var c))
            {
                grid[r, c] += count;
                grid[r, columnCategories.Count] += count;
                grid[rowCategories.Count, c] += count;
                grid[rowCategories.Count, columnCategories.Count] += count;
            }
        }
        var cells = new DraftCell[rowCategories.Count + 1, columnCategories.Count + 1];
        for (var r = 0; r <= rowCategories.Count; r++)
        {
            for (var c = 0; c <= columnCategories.Count; c++)
            {
                cells[r, c] = new CountCell(grid[r, c]);
            }
        }
        return new TableDraft(key, titleJa, titleEn, unitJa, unitEn, rows, columns, [.. rowCategories, StatisticsLabels.Total], [.. columnCategories, StatisticsLabels.Total],
            TotalRow: true, TotalColumn: true, cells);
    }

    /// <summary>A registry value (integers for enums) as the category code the tables use.</summary>
    private static string Code(Dimension dimension, string raw) => dimension switch
    {
        Dimension.OrganSystem => StatisticsLabels.OrganCode((OrganSystem)int.Parse(raw, System.Globalization.CultureInfo.InvariantCulture)),
        Dimension.Designation => StatisticsLabels.DesignationCode((FacilityDesignation)int.Parse(raw, System.Globalization.CultureInfo.InvariantCulture)),
        _ => raw,
    };

    /// <summary>The rows or columns of a dimension: every category the directory or contract knows, within the filter, in their natural order.</summary>
    private sealed class CategoryLists(IReadOnlyList<Prefecture> prefectures, FigureFilter filter)
    {
        public List<Category> Of(Dimension dimension, IEnumerable<string> observed)
        {
            var seen = observed.ToHashSet(StringComparer.Ordinal);
            IEnumerable<Category> known = dimension switch
            {
                Dimension.Month => Months(seen),
                Dimension.Region => prefectures.Where(p => Within(p)).Select(p => p.Region).Distinct().Select(StatisticsLabels.Of),
                Dimension.Prefecture => prefectures.Where(Within).Select(p => StatisticsLabels.Of(p.NameJa)),
                Dimension.OrganSystem => Enum.GetValues<OrganSystem>().Where(o => o != OrganSystem.Unspecified && (filter.Organ == OrganSystem.Unspecified || o == filter.Organ))
                    .Select(o => StatisticsLabels.Of(StatisticsLabels.OrganCode(o))),
                Dimension.Designation => Enum.GetValues<FacilityDesignation>()
                    .Where(d => (d != FacilityDesignation.Unspecified || seen.Contains(StatisticsLabels.DesignationCode(d)))
                        && (filter.Designation == FacilityDesignation.Unspecified || d == filter.Designation))
                    .Select(d => StatisticsLabels.Of(StatisticsLabels.DesignationCode(d))),
                Dimension.ReferralKind => ReferralKinds.Select(StatisticsLabels.Of),
                Dimension.ReferralOutcome => Enum.GetValues<ReferralOutcome>().Select(o => StatisticsLabels.Of(StatisticsLabels.OutcomeCode(o))),
                // The centres that took calls (every one observed, appended below in code order).
                Dimension.HotlineCentre => [],
                _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "not a dimension of two-way tables"),
            };
            var list = known.ToList();
            // A value the lists do not know (a facility whose prefecture was renamed, say) is still counted, at the end.
            list.AddRange(seen.Where(code => list.All(c => c.Code != code)).Order(StringComparer.Ordinal).Select(StatisticsLabels.Of));
            return list;
        }

        private bool Within(Prefecture prefecture) =>
            (filter.Region.Length == 0 || prefecture.Region == filter.Region) && (filter.Prefecture.Length == 0 || prefecture.NameJa == filter.Prefecture);

        /// <summary>Every month of the period (or of what was observed, where the period is open), none skipped.</summary>
        private IEnumerable<Category> Months(HashSet<string> seen)
        {
            var first = filter.FromMonth.Length > 0 ? filter.FromMonth : seen.Order(StringComparer.Ordinal).FirstOrDefault();
            var last = filter.ToMonth.Length > 0 ? filter.ToMonth : seen.Order(StringComparer.Ordinal).LastOrDefault();
            if (first is null || last is null)
            {
                yield break;
            }
            var month = DateOnly.ParseExact(first + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var end = DateOnly.ParseExact(last + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            for (; month <= end; month = month.AddMonths(1))
            {
                yield return StatisticsLabels.Month(month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}

/// <summary>
/// The reads of one answer: a figure and its one-filter-fewer twins count the same consultations, referrals and experts,
/// read once (reading them again per twin cost a table scan each, and a row arriving in between would make the twins
/// protect a different table than the one released).
/// </summary>
public sealed class FigureSnapshot(StatisticsStore store, IReadOnlyList<Prefecture> prefectures)
{
    private Task<IReadOnlyList<ConsultationFact>>? _consultations;
    private Task<IReadOnlyList<ReferralFact>>? _referrals;
    private Task<IReadOnlyDictionary<string, string>>? _experts;
    private Task<IReadOnlyList<HotlineFact>>? _hotlineCalls;

    public IReadOnlyList<Prefecture> Prefectures => prefectures;

    public Task<IReadOnlyList<ConsultationFact>> ConsultationsAsync(CancellationToken cancellationToken) => _consultations ??= store.ConsultationsAsync(cancellationToken);

    public Task<IReadOnlyList<ReferralFact>> ReferralsAsync(CancellationToken cancellationToken) => _referrals ??= store.ReferralsAsync(cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> ExpertsAsync(CancellationToken cancellationToken) => _experts ??= store.ExpertsAsync(cancellationToken);

    public Task<IReadOnlyList<HotlineFact>> HotlineCallsAsync(CancellationToken cancellationToken) => _hotlineCalls ??= store.HotlineCallsAsync(cancellationToken);
}
