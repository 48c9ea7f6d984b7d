using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// Answers a figure query: validated, computed with its one-filter-fewer twins, protected (or, for an exact query, marked),
/// with its provenance. Whether the caller may have exact figures is the caller's check.
/// </summary>
public sealed class NationalStatistics(NationalFigures figures, StatisticsStore store, IOptions<HubOptions> options, TimeProvider clock) : IDisposable
{
    // A figure reads the whole registry: a few at a time per instance, the rest wait briefly or are told to retry.
    private readonly SemaphoreSlim _computing = new(2);
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    public void Dispose() => _computing.Dispose();

    /// <param name="path">The request field holding the query, for messages (e.g. "query").</param>
    /// <exception cref="InvalidFieldsException">The query names a field wrongly; each violation names the field.</exception>
    public async Task<FigureResult> AnswerAsync(FigureQuery? query, string path, CancellationToken cancellationToken)
    {
        var prefectures = await store.PrefecturesAsync(cancellationToken);
        var (rows, columns) = Validate(query, path, prefectures);
        if (!await _computing.WaitAsync(LongestWait, cancellationToken))
        {
            throw new LimitExceededException("The hub is computing other national figures; try again shortly.", TimeSpan.FromSeconds(10));
        }
        FigureDraft draft;
        List<FigureDraft> twins;
        DateTimeOffset asOf;
        var filter = FigureFilter.From(query!.Filter);
        try
        {
            asOf = clock.GetUtcNow();
            var snapshot = new FigureSnapshot(store, prefectures);
            draft = await figures.ComputeAsync(query, rows, columns, filter, snapshot, cancellationToken);
            twins = [];
            foreach (var twin in filter.Twins(NationalFigures.Shown(query, rows, columns)))
            {
                twins.Add(await figures.ComputeAsync(query, rows, columns, twin, snapshot, cancellationToken));
            }
        }
        finally
        {
            _computing.Release();
        }
        var threshold = options.Value.StatisticsSuppressionThreshold;
        var result = FigureRelease.Release(query.Figure, draft, twins, threshold, query.Exact);
        var (filtersJa, filtersEn) = filter.Describe();
        result.Provenance = new Provenance
        {
            RecordsCounted = draft.RecordsCounted, AsOf = Timestamp.FromDateTimeOffset(asOf), ConsentRuleJa = draft.ConsentRuleJa, ConsentRuleEn = draft.ConsentRuleEn,
            Threshold = threshold, Exact = query.Exact, FiltersJa = filtersJa, FiltersEn = filtersEn,
        };
        return result;
    }

    private static (Dimension Rows, Dimension Columns) Validate(FigureQuery? query, string path, IReadOnlyList<Prefecture> prefectures)
    {
        var v = new FieldValidator();
        if (query is null)
        {
            v.Add(path, "is required: which figure, with which filters");
            v.ThrowIfInvalid();
        }
        v.Enum($"{path}.figure", query!.Figure);
        FigureFilter.Validate(v, $"{path}.filter", query.Filter, prefectures);
        var rows = query.Rows;
        var columns = query.Columns;
        if (NationalFigures.PivotOf(query.Figure) is { } pivot)
        {
            rows = rows == Dimension.Unspecified ? pivot.Rows : rows;
            columns = columns == Dimension.Unspecified ? pivot.Columns : columns;
            foreach (var (field, dimension) in new[] { ($"{path}.rows", rows), ($"{path}.columns", columns) })
            {
                if (!pivot.Allowed.Contains(dimension))
                {
                    v.Add(field, $"{query.Figure} is not shown by {dimension}; choose one of {string.Join(", ", pivot.Allowed)}");
                }
            }
            if (rows == columns)
            {
                v.Add($"{path}.columns", $"is the same dimension as the rows ({rows}); choose another");
            }
        }
        else
        {
            if (query.Rows != Dimension.Unspecified)
            {
                v.Add($"{path}.rows", $"{query.Figure} has fixed rows; leave it unspecified");
            }
            if (query.Columns != Dimension.Unspecified)
            {
                v.Add($"{path}.columns", $"{query.Figure} has fixed columns; leave it unspecified");
            }
        }
        if (query.Figure is Figure.ReferralCounts or Figure.ReferralAcceptance && query.Filter?.OrganSystem is { } organ && organ != OrganSystem.Unspecified)
        {
            v.Add($"{path}.filter.organ_system", "referrals are not classified by organ system; leave it unspecified");
        }
        var cohort = query.Cohort;
        if (query.Figure == Figure.TreatmentOutcomes)
        {
            if (cohort is null || (cohort.TrialId.Length == 0 && cohort.Regimen.Length == 0))
            {
                v.Add($"{path}.cohort", "is required: a trial_id (with an arm_id or not) or a regimen");
            }
            else
            {
                v.Text($"{path}.cohort.trial_id", cohort.TrialId, 64, required: false);
                v.Text($"{path}.cohort.arm_id", cohort.ArmId, 64, required: false);
                v.Text($"{path}.cohort.regimen", cohort.Regimen, 200, required: false);
                if (cohort.ArmId.Length > 0 && cohort.TrialId.Length == 0)
                {
                    v.Add($"{path}.cohort.arm_id", "is given only with trial_id (the arm of which trial)");
                }
            }
        }
        else if (cohort is not null && (cohort.TrialId.Length > 0 || cohort.ArmId.Length > 0 || cohort.Regimen.Length > 0))
        {
            v.Add($"{path}.cohort", $"is for FIGURE_TREATMENT_OUTCOMES only; {query.Figure} takes none");
        }
        v.ThrowIfInvalid();
        return (rows, columns);
    }
}
