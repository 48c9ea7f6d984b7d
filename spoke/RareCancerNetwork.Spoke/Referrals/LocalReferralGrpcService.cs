using Grpc.Core;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Referrals;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Directory;
using RareCancerNetwork.Spoke.Registry;

namespace RareCancerNetwork.Spoke.Referrals;

/// <summary>The facility's referrals: sent and followed, or received and acted on; answers from the spoke's own store.</summary>
public sealed partial class LocalReferralGrpcService(LocalReferralStore store, LocalRegistryStore records, LocalDirectoryStore directory, TimeProvider clock,
    ILogger<LocalReferralGrpcService> logger)
    : LocalReferralService.LocalReferralServiceBase
{
    public override async Task<CreateReferralResponse> CreateReferral(CreateReferralRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        ValidateNew(v, request);
        v.ThrowIfInvalid();
        var (referral, duplicate) = await store.CreateAsync(Caller(context), new NewReferral(request, null), context.CancellationToken);
        LogCreated(logger, referral.Referral.ReferralId, referral.Referral.ReceivingFacilityCode, duplicate);
        return new CreateReferralResponse { Referral = referral, Duplicate = duplicate };
    }

    public override async Task<ReferFromTrialMatchResponse> ReferFromTrialMatch(ReferFromTrialMatchRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("referral_id", request.ReferralId);
        v.Uuid("registry_record_id", request.RegistryRecordId);
        ReferralWorkflow.ValidateTarget(v, "", new ReferralTarget { TrialArm = request.TrialArm ?? new TrialArmTarget() });
        v.Text("reason", request.Reason, ContractLimits.ReferralReason, required: false);
        v.Enum("urgency", request.Urgency);
        v.Text("note", request.Note, ContractLimits.ReferralNote, required: false);
        v.ThrowIfInvalid();

        // The same matcher and catalogue copy as 'match': the referral carries the match as it stood.
        var record = (await records.GetAsync(request.RegistryRecordId, context.CancellationToken)).Record;
        var trials = await directory.TrialsAsync(context.CancellationToken);
        var copy = await directory.CopyAsync(context.CancellationToken);
        var result = TrialMatcher.Match(record, trials, copy.DirectoryVersion, clock);
        var arm = request.TrialArm!;
        var match = result.Matches.FirstOrDefault(m => m.TrialId == arm.TrialId && m.ArmId == arm.ArmId);
        if (match is null)
        {
            var near = result.NearMisses.FirstOrDefault(m => m.TrialId == arm.TrialId && m.ArmId == arm.ArmId);
            throw new PreconditionFailedException("NOT_ELIGIBLE", result.NoMatchReason.Length > 0
                ? $"Record {record.RecordId} is matched to no trial: {result.NoMatchReason}"
                : near is not null
                    ? $"Record {record.RecordId} is not eligible for trial {arm.TrialId} arm {arm.ArmId}: {near.Criteria.First(c => c.Outcome == CriterionOutcome.NotMet).Criterion} not met " +
                      $"({near.Criteria.First(c => c.Outcome == CriterionOutcome.NotMet).Explanation})."
                    : $"Record {record.RecordId} is not eligible for trial {arm.TrialId} arm {arm.ArmId} (or that arm is not recruiting); 'spoke registry match' shows why.");
        }
        var create = new CreateReferralRequest
        {
            ReferralId = request.ReferralId,
            Target = new ReferralTarget { TrialArm = arm },
            RegistryRecordId = request.RegistryRecordId,
            Reason = request.Reason.Length > 0 ? request.Reason : DefaultReason(match),
            Urgency = request.Urgency,
            Note = request.Note,
            IncludeRegistryRecord = request.IncludeRegistryRecord,
        };
        var (referral, duplicate) = await store.CreateAsync(Caller(context), new NewReferral(create, match), context.CancellationToken);
        LogCreated(logger, referral.Referral.ReferralId, referral.Referral.ReceivingFacilityCode, duplicate);
        return new ReferFromTrialMatchResponse { Referral = referral, Duplicate = duplicate };
    }

    public override async Task<ListReferralsResponse> ListReferrals(ListReferralsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 50, ContractLimits.ReferralPageSize);
        v.OptionalEnum("direction", request.Direction);
        v.OptionalEnum("state", request.State);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await store.ListAsync(request.Direction, request.State, pageSize, request.PageToken, context.CancellationToken);
        var response = new ListReferralsResponse { NextPageToken = next };
        response.Referrals.AddRange(page);
        return response;
    }

    public override async Task<GetReferralResponse> GetReferral(GetReferralRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("referral_id", request.ReferralId);
        v.ThrowIfInvalid();
        return new GetReferralResponse { Referral = await store.GetAsync(request.ReferralId, context.CancellationToken) };
    }

    public override async Task<ActOnIncomingReferralResponse> ActOnIncomingReferral(ActOnIncomingReferralRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("referral_id", request.ReferralId);
        v.Enum("action", request.Action);
        ReferralWorkflow.ValidateContent(v, "", ReferralWorkflow.TargetOf(request.Action), request.Reason, request.Outcome, request.Note);
        v.ThrowIfInvalid();
        var referral = await store.ActAsync(Caller(context), request, context.CancellationToken);
        LogChanged(logger, request.ReferralId, referral.EffectiveState);
        return new ActOnIncomingReferralResponse { Referral = referral };
    }

    public override async Task<CancelReferralResponse> CancelReferral(CancelReferralRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("referral_id", request.ReferralId);
        ReferralWorkflow.ValidateContent(v, "", ReferralState.Cancelled, request.Reason, ReferralOutcome.Unspecified, "");
        v.ThrowIfInvalid();
        var referral = await store.CancelAsync(Caller(context), request, context.CancellationToken);
        LogChanged(logger, request.ReferralId, referral.EffectiveState);
        return new CancelReferralResponse { Referral = referral };
    }

    private static void ValidateNew(FieldValidator v, CreateReferralRequest request)
    {
        v.Uuid("referral_id", request.ReferralId);
        ReferralWorkflow.ValidateTarget(v, "target.", request.Target);
        if (request.LocalPatientId.Length > 0)
        {
            v.LocalPatientId("local_patient_id", request.LocalPatientId);
        }
        if (request.RegistryRecordId.Length > 0)
        {
            v.Uuid("registry_record_id", request.RegistryRecordId);
        }
        if (request.ConsultationId.Length > 0)
        {
            v.Uuid("consultation_id", request.ConsultationId);
        }
        if (request.LocalPatientId.Length == 0 && request.RegistryRecordId.Length == 0 && request.ConsultationId.Length == 0)
        {
            v.Add("local_patient_id", "is required: the patient's id, or a registry_record_id or consultation_id naming the patient");
        }
        if (request.IncludeRegistryRecord && request.RegistryRecordId.Length == 0)
        {
            v.Add("include_registry_record", "needs the registry_record_id of the record to include");
        }
        v.Text("reason", request.Reason, ContractLimits.ReferralReason);
        v.Enum("urgency", request.Urgency);
        v.Text("note", request.Note, ContractLimits.ReferralNote, required: false);
        v.Text("clinical_summary", request.ClinicalSummary, ContractLimits.ClinicalSummary, required: false);
    }

    /// <summary>The match's met criteria, as the reason a clinician reads first.</summary>
    private static string DefaultReason(TrialMatch match)
    {
        var reason = $"Eligible for {match.TrialId} arm {match.ArmId} ({match.ArmTitle}): " +
            string.Join("; ", match.Criteria.Select(c => $"{c.Criterion}: {c.Explanation}"));
        return reason.Length <= ContractLimits.ReferralReason ? reason : reason[..(ContractLimits.ReferralReason - 1)] + "…";
    }

    private static string Caller(ServerCallContext context) => NetworkCaller.From(context.GetHttpContext().User).Subject;

    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "Referral {ReferralId} to {ReceivingFacilityCode} stored and queued (duplicate: {Duplicate})")]
    private static partial void LogCreated(ILogger logger, string referralId, string receivingFacilityCode, bool duplicate);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Information, Message = "Referral {ReferralId} is now {State} here; the change is queued for the hub")]
    private static partial void LogChanged(ILogger logger, string referralId, ReferralState state);
}
