using Grpc.Core;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Referrals;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Referrals;

/// <summary>Spoke nodes deliver their facility's referrals and the transitions its people make. A node acts only for its own facility.</summary>
public sealed partial class ReferralSyncGrpcService(ReferralStore store, ILogger<ReferralSyncGrpcService> logger) : ReferralSyncService.ReferralSyncServiceBase
{
    public override async Task<DeliverReferralResponse> DeliverReferral(DeliverReferralRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        ReferralWorkflow.ValidateReferral(v, "referral.", request.Referral);
        if (request.Referral is { } referral && (referral.State != ReferralState.Requested || referral.History.Count > 0))
        {
            v.Add("referral.state", "a new referral is REQUESTED, with no history");
        }
        v.ThrowIfInvalid();
        var (nodeId, facilityCode) = Node(context);
        if (request.Referral!.SendingFacilityCode != facilityCode)
        {
            throw new AccessDeniedException($"This node may send referrals only from its own facility ({facilityCode}).");
        }
        var (routed, duplicate) = await store.DeliverAsync(nodeId, request.Referral, context.CancellationToken);
        LogDelivered(logger, routed.ReferralId, nodeId, routed.ReceivingNodeId, duplicate);
        return new DeliverReferralResponse { Referral = routed, Duplicate = duplicate };
    }

    public override async Task<DeliverReferralTransitionResponse> DeliverReferralTransition(DeliverReferralTransitionRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("referral_id", request.ReferralId);
        var made = request.Transition;
        if (made is null)
        {
            v.Add("transition", "is required");
        }
        else
        {
            v.Uuid("transition.transition_id", made.TransitionId);
            v.Enum("transition.to_state", made.ToState);
            v.Text("transition.made_by", made.MadeBy, Protos.Contract.ContractLimits.PersonName);
            if (made.OccurredAt is null)
            {
                v.Add("transition.occurred_at", "is required");
            }
            ReferralWorkflow.ValidateContent(v, "transition.", made.ToState, made.Reason, made.Outcome, made.Note);
        }
        v.ThrowIfInvalid();
        var (nodeId, facilityCode) = Node(context);
        var (referral, duplicate) = await store.TransitionAsync(nodeId, facilityCode, request.ReferralId, made!, context.CancellationToken);
        LogTransition(logger, request.ReferralId, referral.State, nodeId, duplicate);
        return new DeliverReferralTransitionResponse { Referral = referral, Duplicate = duplicate };
    }

    private static (string NodeId, string FacilityCode) Node(ServerCallContext context) =>
        NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Referral {ReferralId} from node {NodeId} routed to node {ReceivingNodeId} (duplicate: {Duplicate})")]
    private static partial void LogDelivered(ILogger logger, string referralId, string nodeId, string receivingNodeId, bool duplicate);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Referral {ReferralId} is {State} (by node {NodeId}, duplicate: {Duplicate})")]
    private static partial void LogTransition(ILogger logger, string referralId, ReferralState state, string nodeId, bool duplicate);
}
