using Grpc.Core;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Directory;

namespace RareCancerNetwork.Spoke.Hotline;

/// <summary>The centre's hotline: calls recorded, searched and referred from here, while the hub is away too.</summary>
public sealed partial class LocalHotlineGrpcService(LocalHotlineStore store, LocalDirectoryStore directory, TimeProvider clock,
    ILogger<LocalHotlineGrpcService> logger)
    : LocalHotlineService.LocalHotlineServiceBase
{
    public override async Task<RecordLocalHotlineCallResponse> RecordLocalHotlineCall(RecordLocalHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        HotlineCalls.ValidateEntry(v, "entry", request.Entry, clock.GetUtcNow(), await FacilityCodesAsync(request.Entry, context.CancellationToken));
        HotlineCalls.ValidateContact(v, "callback_contact", request.CallbackContact, request.Entry);
        v.ThrowIfInvalid();
        var (call, duplicate) = await store.RecordAsync(Caller(context), request, context.CancellationToken);
        LogRecorded(logger, call.Call.CallId, call.Call.Revision, duplicate);
        return new RecordLocalHotlineCallResponse { Call = call, Duplicate = duplicate };
    }

    public override async Task<AmendLocalHotlineCallResponse> AmendLocalHotlineCall(AmendLocalHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        v.Range("expected_revision", request.ExpectedRevision, 1, int.MaxValue);
        HotlineCalls.ValidateEntry(v, "entry", request.Entry, clock.GetUtcNow(), await FacilityCodesAsync(request.Entry, context.CancellationToken));
        HotlineCalls.ValidateContact(v, "callback_contact", request.CallbackContact, request.Entry);
        v.ThrowIfInvalid();
        var call = await store.AmendAsync(request, context.CancellationToken);
        LogRecorded(logger, call.Call.CallId, call.Call.Revision, false);
        return new AmendLocalHotlineCallResponse { Call = call };
    }

    public override async Task<GetLocalHotlineCallResponse> GetLocalHotlineCall(GetLocalHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        v.ThrowIfInvalid();
        return new GetLocalHotlineCallResponse { Call = await store.GetAsync(request.CallId, context.CancellationToken) };
    }

    public override async Task<SearchLocalHotlineCallsResponse> SearchLocalHotlineCalls(SearchLocalHotlineCallsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = HotlineCalls.ValidateSearch(v, "query", request.Query);
        v.ThrowIfInvalid();
        var (page, next) = await store.SearchAsync(request.Query ?? new SearchHotlineCallsRequest(), pageSize, context.CancellationToken);
        var response = new SearchLocalHotlineCallsResponse { NextPageToken = next };
        response.Calls.AddRange(page);
        return response;
    }

    public override async Task<SuggestLocalFacilitiesResponse> SuggestLocalFacilities(SuggestLocalFacilitiesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var limit = FacilitySuggestions.Validate(v, "query", request.Query);
        v.ThrowIfInvalid();
        var response = new SuggestLocalFacilitiesResponse();
        response.Suggestions.AddRange(FacilitySuggestions.Of(await directory.RequireFacilitiesAsync(context.CancellationToken), request.Query!, limit));
        return response;
    }

    public override async Task<ReferFromHotlineCallResponse> ReferFromHotlineCall(ReferFromHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("call_id", request.CallId);
        v.Range("expected_revision", request.ExpectedRevision, 1, int.MaxValue);
        v.Uuid("referral_id", request.ReferralId);
        v.Text("facility_code", request.FacilityCode, 64);
        v.LocalPatientId("local_patient_id", request.LocalPatientId);
        v.Text("reason", request.Reason, ContractLimits.ReferralReason);
        v.Enum("urgency", request.Urgency);
        v.ThrowIfInvalid();
        var (call, referral) = await store.ReferAsync(Caller(context), request, context.CancellationToken);
        LogReferred(logger, call.Call.CallId, referral.ReferralId, referral.ReceivingFacilityCode);
        return new ReferFromHotlineCallResponse { Call = call, Referral = referral };
    }

    /// <summary>The directory's facility codes, read only when the entry suggests any.</summary>
    private async Task<IReadOnlySet<string>> FacilityCodesAsync(HotlineCallEntry? entry, CancellationToken cancellationToken) =>
        entry is null || entry.SuggestedFacilityCodes.Count == 0
            ? new HashSet<string>()
            : (await directory.FacilitiesAsync(cancellationToken)).Select(f => f.FacilityCode).ToHashSet(StringComparer.Ordinal);

    private static string Caller(ServerCallContext context) => NetworkCaller.From(context.GetHttpContext().User).Subject;

    [LoggerMessage(EventId = 2701, Level = LogLevel.Information, Message = "Hotline call {CallId} revision {Revision} stored and queued (duplicate: {Duplicate})")]
    private static partial void LogRecorded(ILogger logger, string callId, int revision, bool duplicate);

    [LoggerMessage(EventId = 2702, Level = LogLevel.Information, Message = "Hotline call {CallId} referred as {ReferralId} to {FacilityCode}")]
    private static partial void LogReferred(ILogger logger, string callId, string referralId, string facilityCode);
}
