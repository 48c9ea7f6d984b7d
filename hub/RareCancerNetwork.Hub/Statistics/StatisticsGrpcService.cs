using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// National figures for the central institution's statisticians, answered by <see cref="NationalStatistics"/>. Exact
/// figures only for holders of the permission, each such query written to the audit trail before it is answered.
/// </summary>
public sealed class StatisticsGrpcService(NationalStatistics statistics, UserAccounts users, AuditLog audit, Sync.SpokeSyncStatusStore spokes, TimeProvider clock)
    : StatisticsService.StatisticsServiceBase
{
    public const string ExactStatisticsEvent = "exact_statistics";

    public override async Task<GetFigureResponse> GetFigure(GetFigureRequest request, ServerCallContext context) =>
        new() { Result = await AnswerAsync(request.Query, context) };

    public override async Task<ExportFigureResponse> ExportFigure(ExportFigureRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Text("table_key", request.TableKey, 64, required: false);
        v.ThrowIfInvalid();
        var result = await AnswerAsync(request.Query, context);
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

    private async Task<FigureResult> AnswerAsync(FigureQuery? query, ServerCallContext context)
    {
        var user = context.GetHttpContext().User;
        var userId = user.FindFirst(NetworkClaims.Subject)?.Value ?? "";
        if (query is { Exact: true } && !await users.HoldsExactStatisticsAsync(userId, context.CancellationToken))
        {
            throw new AccessDeniedException(
                "Exact (unsuppressed) figures need the exact-statistics permission, which an administrator grants to a statistician (hub grant-exact-statistics); ask without exact for the released figures.");
        }
        var result = await statistics.AnswerAsync(query, "query", context.CancellationToken);
        if (result.Provenance.Exact)
        {
            // Who saw which unsuppressed figure, with which filters: never a count or a patient.
            await audit.AppendAsync(new AuditRecord(ExactStatisticsEvent, "R", AuditVocabulary.Success, context.Method, userId, CallerRoles.Of(user),
                context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "", "statistics_figure", query!.Figure.ToString(),
                $"{result.Provenance.FiltersEn}; rows {query.Rows}, columns {query.Columns}"), CancellationToken.None);
        }
        return result;
    }
}
