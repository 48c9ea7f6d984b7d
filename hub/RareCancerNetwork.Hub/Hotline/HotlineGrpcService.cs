using Grpc.Core;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Hotline;

/// <summary>
/// The central institution's hotline: its counsellors record and search their centre's calls at the hub, and answer "where can
/// this patient be seen?" from the directory. A counsellor sees only the calls of the centre in their token.
/// </summary>
public sealed partial class HotlineGrpcService(HotlineStore store, HubDatabase database, TimeProvider clock, ILogger<HotlineGrpcService> logger)
    : HotlineService.HotlineServiceBase
{
    public override async Task<RecordHotlineCallResponse> RecordHotlineCall(RecordHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        HotlineCalls.ValidateEntry(v, "entry", request.Entry, clock.GetUtcNow(), await FacilityCodesAsync(request.Entry, context.CancellationToken));
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User);
        var (call, duplicate) = await store.RecordAsync(Centre(caller), caller.Subject, request, context.CancellationToken);
        LogRecorded(logger, call.CallId, call.Revision, duplicate);
        return new RecordHotlineCallResponse { Call = call, Duplicate = duplicate };
    }

    public override async Task<AmendHotlineCallResponse> AmendHotlineCall(AmendHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        v.Range("expected_revision", request.ExpectedRevision, 1, int.MaxValue);
        HotlineCalls.ValidateEntry(v, "entry", request.Entry, clock.GetUtcNow(), await FacilityCodesAsync(request.Entry, context.CancellationToken));
        v.ThrowIfInvalid();
        var call = await store.AmendAsync(Centre(NetworkCaller.From(context.GetHttpContext().User)), request, context.CancellationToken);
        LogRecorded(logger, call.CallId, call.Revision, false);
        return new AmendHotlineCallResponse { Call = call };
    }

    public override async Task<GetHotlineCallResponse> GetHotlineCall(GetHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        v.ThrowIfInvalid();
        return new GetHotlineCallResponse
        {
            Call = await store.GetAsync(Centre(NetworkCaller.From(context.GetHttpContext().User)), request.CallId, context.CancellationToken),
        };
    }

    public override async Task<SearchHotlineCallsResponse> SearchHotlineCalls(SearchHotlineCallsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = HotlineCalls.ValidateSearch(v, "", request);
        v.ThrowIfInvalid();
        var (page, next) = await store.SearchAsync(Centre(NetworkCaller.From(context.GetHttpContext().User)), request, pageSize, context.CancellationToken);
        var response = new SearchHotlineCallsResponse { NextPageToken = next };
        response.Calls.AddRange(page);
        return response;
    }

    public override async Task<SuggestFacilitiesResponse> SuggestFacilities(SuggestFacilitiesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var limit = FacilitySuggestions.Validate(v, "", request);
        v.ThrowIfInvalid();
        var response = new SuggestFacilitiesResponse();
        response.Suggestions.AddRange(FacilitySuggestions.Of(await FacilitiesAsync(context.CancellationToken), request, limit));
        return response;
    }

    private async Task<List<Facility>> FacilitiesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return [.. (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, cancellationToken)).Select(e => e.Facility)];
    }

    private async Task<IReadOnlySet<string>> FacilityCodesAsync(HotlineCallEntry? entry, CancellationToken cancellationToken) =>
        entry is null || entry.SuggestedFacilityCodes.Count == 0
            ? new HashSet<string>()
            : (await FacilitiesAsync(cancellationToken)).Select(f => f.FacilityCode).ToHashSet(StringComparer.Ordinal);

    /// <summary>The counsellor's centre: the facility in their token.</summary>
    private static string Centre(NetworkCaller caller) => caller.FacilityCode is { Length: > 0 } facility
        ? facility
        : throw new AccessDeniedException("Your account names no facility, so it has no hotline centre; an administrator sets the facility of hotline counsellors.");

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Hotline call {CallId} revision {Revision} recorded at the hub (duplicate: {Duplicate})")]
    private static partial void LogRecorded(ILogger logger, string callId, int revision, bool duplicate);
}
