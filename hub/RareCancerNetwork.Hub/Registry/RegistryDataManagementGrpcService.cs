using Grpc.Core;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>
/// The registry's data managers: the national records as the hub holds them (pseudonymised, no local
/// patient ids: the hub never has them) and the data queries that keep them right.
/// </summary>
public sealed partial class RegistryDataManagementGrpcService(RegistryStore records, DataQueryStore queries, ILogger<RegistryDataManagementGrpcService> logger)
    : RegistryDataManagementService.RegistryDataManagementServiceBase
{
    private const int DefaultPageSize = 50;

    public override async Task<ListNationalRegistryRecordsResponse> ListNationalRegistryRecords(ListNationalRegistryRecordsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, DefaultPageSize, ContractLimits.RegistryPageSize);
        v.Text("facility_code", request.FacilityCode, ContractLimits.RegistryShortText, required: false);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await records.PageAsync(request.FacilityCode, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListNationalRegistryRecordsResponse { NextPageToken = next };
        response.Records.AddRange(page);
        return response;
    }

    public override async Task<GetNationalRegistryRecordResponse> GetNationalRegistryRecord(GetNationalRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.ThrowIfInvalid();
        var record = await records.GetAsync(request.RecordId, context.CancellationToken)
            ?? throw new ResourceNotFoundException("Registry record", request.RecordId, "the national registry does not hold it (never delivered, or consent withdrawn)");
        var response = new GetNationalRegistryRecordResponse { Record = record };
        string token = "";
        do
        {
            var (page, next) = await queries.ListAsync("", request.RecordId, openOnly: false, ContractLimits.RegistryPageSize, token, context.CancellationToken);
            response.Queries.AddRange(page);
            token = next;
        }
        while (token.Length > 0);
        return response;
    }

    public override async Task<RaiseDataQueryResponse> RaiseDataQuery(RaiseDataQueryRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("query_id", request.QueryId);
        v.Uuid("record_id", request.RecordId);
        v.Text("field", request.Field, ContractLimits.DataQueryField);
        v.Text("question", request.Question, ContractLimits.DataQueryText);
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User);
        var (query, duplicate) = await queries.RaiseAsync(request, caller.Subject, context.CancellationToken);
        if (!duplicate)
        {
            LogRaised(logger, query.QueryId, query.RecordId, query.FacilityCode);
        }
        return new RaiseDataQueryResponse { Query = query, Duplicate = duplicate };
    }

    public override async Task<CancelDataQueryResponse> CancelDataQuery(CancelDataQueryRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("query_id", request.QueryId);
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User);
        return new CancelDataQueryResponse { Query = await queries.CancelAsync(request.QueryId, caller.Subject, context.CancellationToken) };
    }

    public override async Task<ListDataQueriesResponse> ListDataQueries(ListDataQueriesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, DefaultPageSize, ContractLimits.RegistryPageSize);
        v.Text("facility_code", request.FacilityCode, ContractLimits.RegistryShortText, required: false);
        if (request.RecordId.Length > 0)
        {
            v.Uuid("record_id", request.RecordId);
        }
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await queries.ListAsync(request.FacilityCode, request.RecordId, request.OpenOnly, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListDataQueriesResponse { NextPageToken = next };
        response.Queries.AddRange(page);
        return response;
    }

    public override Task<CountOpenDataQueriesResponse> CountOpenDataQueries(CountOpenDataQueriesRequest request, ServerCallContext context) =>
        queries.CountOpenAsync(context.CancellationToken);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Data query {QueryId} raised on registry record {RecordId} of {FacilityCode}")]
    private static partial void LogRaised(ILogger logger, string queryId, string recordId, string facilityCode);
}
