using Grpc.Core;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Hotline;

/// <summary>Spoke nodes deliver the calls their centre took, without what stays at the centre. A node delivers only its own centre's calls.</summary>
public sealed partial class HotlineSyncGrpcService(HotlineStore store, TimeProvider clock, ILogger<HotlineSyncGrpcService> logger)
    : HotlineSyncService.HotlineSyncServiceBase
{
    public override async Task<DeliverHotlineCallResponse> DeliverHotlineCall(DeliverHotlineCallRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        HotlineCalls.ValidateDelivered(v, "call", request.Call, clock.GetUtcNow());
        v.ThrowIfInvalid();
        var (nodeId, facilityCode) = NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();
        if (request.Call.CentreFacilityCode != facilityCode)
        {
            throw new AccessDeniedException($"This node delivers only the hotline calls of its own centre ({facilityCode}).");
        }
        var (stored, duplicate) = await store.DeliverAsync(nodeId, request.Call, context.CancellationToken);
        LogDelivered(logger, request.Call.CallId, request.Call.Revision, nodeId, duplicate);
        return new DeliverHotlineCallResponse { StoredRevision = stored, Duplicate = duplicate };
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Hotline call {CallId} revision {Revision} from {NodeId} stored (duplicate: {Duplicate})")]
    private static partial void LogDelivered(ILogger logger, string callId, int revision, string nodeId, bool duplicate);
}
