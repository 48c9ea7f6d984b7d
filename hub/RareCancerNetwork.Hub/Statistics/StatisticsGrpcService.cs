using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// National figures for the central institution's statisticians: validated, computed with their one-filter-fewer twins,
/// protected, and answered with their provenance. Exact figures only for holders of the permission, each such query
/// written to the audit trail before it is answered.
/// </summary>
public sealed class StatisticsGrpcService(NationalFigures figures, StatisticsStore store, UserAccounts users, AuditLog audit, IOptions<HubOptions> options,
    Sync.SpokeSyncStatusStore spokes, TimeProvider clock) : StatisticsService.StatisticsServiceBase
{
    public const string ExactStatisticsEvent = "exact_statistics";

    // A figure reads the whole registry: a few at a time per instance, the rest wait briefly or are told to retry.
    private static readonly SemaphoreSlim Computing = new(2);
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    public override async Task<GetFigureResponse> GetFigure(GetFigureRequest request, ServerCallContext context) =>
        new() { Result = await ComputeAsync(request.Query, "query", context) };

    public override async Task<ExportFigureResponse> ExportFigure(ExportFigureRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Text("table_key", request.TableKey, 64, required: false);
        v.ThrowIfInvalid();
        var result = await ComputeAsync(request.Query, "query", context);
        var content = StatisticsCsv.Write(result, request.TableKey);
        if (content is null)
        {
            var keys = result.Tables.Select(t => t.Key).Concat(result.Curves.Select(c => c.Key));
            throw new InvalidFieldsException([new FieldViolation("table_key", $"'{request.TableKey}' is not a table of {request.Query.Figure}; its tables are {string.Join(", ", keys)}")]);
        }
        return new ExportFigureResponse
        {
            FileName = StatisticsCsv.FileName(result, request.TableKey, result.Provenance.AsOf.ToDateTimeOffset()),
            MediaType = StatisticsCsv.MediaType,
            Content = Google.Protobuf.ByteString.CopyFrom(content),
        };
    }

    public override async Task<ListSpokeSyncStatusResponse> ListSpokeSyncStatus(ListSpokeSyncStatusRequest request, ServerCallContext context)
    {
        var response = new ListSpokeSyncStatusResponse { AsOf = Timestamp.FromDateTimeOffset(clock.GetUtcNow()) };
        response.Spokes.AddRange(await spokes.ListAsync(context.CancellationToken));
        return response;
    }

    private async Task<FigureResult> ComputeAsync(FigureQuery? query, string path, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var prefectures = await store.PrefecturesAsync(cancellationToken);
        var (rows, columns) = Validate(query, path, prefectures);
        var user = context.GetHttpContext().User;
        if (query!.Exact)
        {
            var userId = user.FindFirst(NetworkClaims.Subject)?.Value ?? "";
            if (!await users.HoldsExactStatisticsAsync(userId, cancellationToken))
            {
                throw new AccessDeniedException(
                    "Exact (unsuppressed) figures need the exact-statistics permission, which an administrator grants to a statistician (hub grant-exact-statistics); ask without exact for the released figures.");
            }
        }
        if (!await Computing.WaitAsync(LongestWait, cancellationToken))
        {
            throw new LimitExceededException("The hub is computing other national figures; try again shortly.", TimeSpan.FromSeconds(10));
        }
        FigureDraft draft;
        List<FigureDraft> twins;
        DateTimeOffset asOf;
        var filter = FigureFilter.From(query.Filter);
        try
        {
            asOf = clock.GetUtcNow();
            draft = await figures.ComputeAsync(query, rows, columns, filter, prefectures, cancellationToken);
            twins = [];
            foreach (var twin in filter.Twins(NationalFigures.Shown(query, rows, columns)))
            {
                twins.Add(await figures.ComputeAsync(query, rows, columns, twin, prefectures, cancellationToken));
            }
        }
        finally
        {
            Computing.Release();
        }
        var threshold = options.Value.StatisticsSuppressionThreshold;
        var result = FigureRelease.Release(query.Figure, draft, twins, threshold, query.Exact);
        var (filtersJa, filtersEn) = filter.Describe();
        result.Provenance = new Provenance
        {
            RecordsCounted = draft.RecordsCounted, AsOf = Timestamp.FromDateTimeOffset(asOf), ConsentRuleJa = draft.ConsentRuleJa, ConsentRuleEn = draft.ConsentRuleEn,
            Threshold = threshold, Exact = query.Exact, FiltersJa = filtersJa, FiltersEn = filtersEn,
        };
        if (query.Exact)
        {
            // Who saw which unsuppressed figure, with which filters: never a count or a patient.
            var http = context.GetHttpContext();
            await audit.AppendAsync(new AuditRecord(ExactStatisticsEvent, "R", AuditVocabulary.Success, context.Method,
                user.FindFirst(NetworkClaims.Subject)?.Value ?? "", CallerRoles.Of(user), http.Connection.RemoteIpAddress?.ToString() ?? "",
                "statistics_figure", query.Figure.ToString(), $"{filtersEn}; rows {rows}, columns {columns}"), CancellationToken.None);
        }
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
