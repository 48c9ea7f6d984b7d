using Grpc.Core;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Spoke.Registry;

/// <summary>The facility's registry API: answers from the spoke's own store, so it works while the hub is away.</summary>
public sealed partial class LocalRegistryGrpcService(LocalRegistryStore store, LocalDataQueryStore dataQueries, IOptions<SpokeOptions> options, TimeProvider clock,
    ILogger<LocalRegistryGrpcService> logger)
    : LocalRegistryService.LocalRegistryServiceBase
{
    public override async Task<CreateRegistryRecordResponse> CreateRegistryRecord(CreateRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.LocalPatientId("local_patient_id", request.LocalPatientId);
        if (request.Record is null)
        {
            v.Add("record", "is required");
        }
        else
        {
            v.Uuid("record.record_id", request.Record.RecordId);
            if (request.Record.Version != 1)
            {
                v.Add("record.version", $"must be 1 for a new record; got {request.Record.Version}");
            }
        }
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User);
        var (record, duplicate) = await store.CreateAsync(options.Value.FacilityCode, caller.Subject, request.LocalPatientId, request.Record!, context.CancellationToken);
        LogChanged(logger, record.Record.RecordId, record.Record.Version, record.SyncState);
        return new CreateRegistryRecordResponse { Record = record, Duplicate = duplicate };
    }

    public override async Task<UpdateRegistryRecordResponse> UpdateRegistryRecord(UpdateRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        if (request.Record is null)
        {
            v.Add("record", "is required");
        }
        else
        {
            v.Uuid("record.record_id", request.Record.RecordId);
            v.Range("record.version", request.Record.Version, 2, long.MaxValue);
        }
        v.ThrowIfInvalid();
        var record = await store.UpdateAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request.Record!, context.CancellationToken);
        LogChanged(logger, record.Record.RecordId, record.Record.Version, record.SyncState);
        return new UpdateRegistryRecordResponse { Record = record };
    }

    public override async Task<GetRegistryRecordResponse> GetRegistryRecord(GetRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.ThrowIfInvalid();
        return new GetRegistryRecordResponse { Record = await store.GetAsync(request.RecordId, context.CancellationToken) };
    }

    public override async Task<ListRegistryRecordsResponse> ListRegistryRecords(ListRegistryRecordsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 50, ContractLimits.RegistryPageSize);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await store.ListAsync(request.ConflictsOnly, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListRegistryRecordsResponse { NextPageToken = next };
        response.Records.AddRange(page);
        return response;
    }

    public override async Task<ListRegistryRecordVersionsResponse> ListRegistryRecordVersions(ListRegistryRecordVersionsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.ThrowIfInvalid();
        var response = new ListRegistryRecordVersionsResponse();
        response.Versions.AddRange(await store.VersionsAsync(request.RecordId, context.CancellationToken));
        return response;
    }

    public override async Task<ListLocalDataQueriesResponse> ListLocalDataQueries(ListLocalDataQueriesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 50, ContractLimits.RegistryPageSize);
        if (request.RecordId.Length > 0)
        {
            v.Uuid("record_id", request.RecordId);
        }
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await dataQueries.ListAsync(request.OpenOnly, request.RecordId, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListLocalDataQueriesResponse { NextPageToken = next };
        response.Queries.AddRange(page);
        return response;
    }

    public override async Task<ConfirmDataQueryValueResponse> ConfirmDataQueryValue(ConfirmDataQueryValueRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("query_id", request.QueryId);
        v.Text("comment", request.Comment, ContractLimits.DataQueryText);
        v.ThrowIfInvalid();
        var query = await dataQueries.ConfirmAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request.QueryId, request.Comment, context.CancellationToken);
        LogConfirmed(logger, request.QueryId);
        return new ConfirmDataQueryValueResponse { Query = query };
    }

    public override async Task<ResolveRegistryConflictResponse> ResolveRegistryConflict(ResolveRegistryConflictRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.Enum("resolution", request.Resolution);
        v.Range("hub_version", request.HubVersion, 1, long.MaxValue);
        v.ThrowIfInvalid();
        var record = await store.ResolveAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request.RecordId, request.Resolution, request.HubVersion,
            context.CancellationToken);
        LogResolved(logger, request.RecordId, request.Resolution);
        return new ResolveRegistryConflictResponse { Record = record };
    }

    public override async Task<WithdrawRegistryConsentResponse> WithdrawRegistryConsent(WithdrawRegistryConsentRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.Date("withdrawn_on", request.WithdrawnOn, ConsultationValidation.TodayInJapan(clock));
        v.ThrowIfInvalid();
        var response = await store.WithdrawAsync(NetworkCaller.From(context.GetHttpContext().User).Subject, request.RecordId, request.WithdrawnOn, context.CancellationToken);
        LogWithdrawn(logger, request.RecordId);
        return response;
    }

    public override async Task<ImportRegistryRecordsResponse> ImportRegistryRecords(ImportRegistryRecordsRequest request, ServerCallContext context)
    {
        if (request.Records.Count is 0 or > ContractLimits.RegistryRecordsPerDelivery)
        {
            throw new Node.Errors.InvalidFieldsException([new Node.Errors.FieldViolation("records",
                $"must hold 1-{ContractLimits.RegistryRecordsPerDelivery} records; got {request.Records.Count}")]);
        }
        var results = await store.ImportAsync(options.Value.FacilityCode, NetworkCaller.From(context.GetHttpContext().User).Subject, request.Records,
            context.CancellationToken);
        var response = new ImportRegistryRecordsResponse();
        response.Results.AddRange(results);
        var created = results.Count(r => r.Outcome == ImportOutcome.Created);
        var invalid = results.Count(r => r.Outcome == ImportOutcome.Invalid);
        LogImported(logger, request.Records.Count, created, invalid);
        return response;
    }

    public override async Task<ExportRegistryRecordsResponse> ExportRegistryRecords(ExportRegistryRecordsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 100, ContractLimits.RegistryPageSize);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await store.ExportPageAsync(pageSize, request.PageToken, context.CancellationToken);
        return new ExportRegistryRecordsResponse
        {
            FhirBundleJson = Google.Protobuf.ByteString.CopyFromUtf8(Node.Fhir.RegistryFhirExport.ToJson(Node.Fhir.RegistryFhirExport.ToBundle(page, clock.GetUtcNow()))),
            RecordCount = page.Count,
            NextPageToken = next,
        };
    }

    [LoggerMessage(EventId = 2405, Level = LogLevel.Information, Message = "Data query {QueryId}: the facility confirmed the value; answer queued for the hub")]
    private static partial void LogConfirmed(ILogger logger, string queryId);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Information, Message = "Registry import: {Count} records, {Created} created, {Invalid} invalid")]
    private static partial void LogImported(ILogger logger, int count, int created, int invalid);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information, Message = "Registry record {RecordId}: consent withdrawn; deleted here, the hub is told")]
    private static partial void LogWithdrawn(ILogger logger, string recordId);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Registry record {RecordId} version {Version} stored locally ({SyncState})")]
    private static partial void LogChanged(ILogger logger, string recordId, long version, RegistrySyncState syncState);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "Registry record {RecordId}: conflict resolved ({Resolution})")]
    private static partial void LogResolved(ILogger logger, string recordId, ConflictResolution resolution);
}
