using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Referrals;

/// <summary>Which side of a referral makes a change.</summary>
public enum ReferralParty
{
    /// <summary>The sending facility: it may only cancel.</summary>
    Sender,

    /// <summary>The receiving facility: it receives, accepts or rejects, starts, completes or fails.</summary>
    Receiver,
}

/// <summary>
/// The referral workflow (FHIR Task): requested → received → accepted | rejected → in progress →
/// completed | failed; the sender cancels from any open state. The spokes check it before they queue a
/// change, and the hub checks it again when it applies one, in the order changes reach it.
/// </summary>
public static class ReferralWorkflow
{
    private static readonly Dictionary<(ReferralState From, ReferralState To), ReferralParty> Allowed = new()
    {
        [(ReferralState.Requested, ReferralState.Received)] = ReferralParty.Receiver,
        [(ReferralState.Received, ReferralState.Accepted)] = ReferralParty.Receiver,
        [(ReferralState.Received, ReferralState.Rejected)] = ReferralParty.Receiver,
        [(ReferralState.Accepted, ReferralState.InProgress)] = ReferralParty.Receiver,
        [(ReferralState.InProgress, ReferralState.Completed)] = ReferralParty.Receiver,
        [(ReferralState.InProgress, ReferralState.Failed)] = ReferralParty.Receiver,
        [(ReferralState.Requested, ReferralState.Cancelled)] = ReferralParty.Sender,
        [(ReferralState.Received, ReferralState.Cancelled)] = ReferralParty.Sender,
        [(ReferralState.Accepted, ReferralState.Cancelled)] = ReferralParty.Sender,
        [(ReferralState.InProgress, ReferralState.Cancelled)] = ReferralParty.Sender,
    };

    public static bool IsOpen(ReferralState state) => state is ReferralState.Requested or ReferralState.Received or ReferralState.Accepted or ReferralState.InProgress;

    /// <summary>The party that may move a referral to <paramref name="to"/> from <paramref name="from"/>, or null when the workflow has no such step.</summary>
    public static ReferralParty? PartyFor(ReferralState from, ReferralState to) => Allowed.TryGetValue((from, to), out var party) ? party : null;

    public static ReferralState TargetOf(ReferralAction action) => action switch
    {
        ReferralAction.Receive => ReferralState.Received,
        ReferralAction.Accept => ReferralState.Accepted,
        ReferralAction.Reject => ReferralState.Rejected,
        ReferralAction.Start => ReferralState.InProgress,
        ReferralAction.Complete => ReferralState.Completed,
        ReferralAction.Fail => ReferralState.Failed,
        _ => ReferralState.Unspecified,
    };

    /// <summary>Refuses a step the workflow does not allow from the current state, or not to this party, naming the state.</summary>
    public static void Require(string referralId, ReferralState current, ReferralState to, ReferralParty party)
    {
        var allowed = PartyFor(current, to);
        if (allowed == party)
        {
            return;
        }
        if (allowed is null)
        {
            var next = Allowed.Where(step => step.Key.From == current && step.Value == party).Select(step => Name(step.Key.To)).ToList();
            throw new PreconditionFailedException("REFERRAL_STATE",
                $"Referral {referralId} is {Name(current)}; it cannot become {Name(to)}" +
                (next.Count > 0 ? $" (from {Name(current)} it can become: {string.Join(", ", next)})." : IsOpen(current) ? "." : $": {Name(current)} is final."));
        }
        throw new AccessDeniedException(party == ReferralParty.Sender
            ? $"Only the receiving facility moves a referral to {Name(to)}."
            : $"Only the sending facility cancels a referral.");
    }

    /// <summary>The state's name as people read it: IN_PROGRESS.</summary>
    public static string Name(ReferralState state) => ProtoEnumNames.Name(state).ToUpperInvariant();

    /// <summary>What a transition must carry: a reason to reject, fail or cancel; an outcome to complete.</summary>
    public static void ValidateContent(FieldValidator v, string path, ReferralState to, string reason, ReferralOutcome outcome, string note)
    {
        v.Text($"{path}reason", reason, ContractLimits.ReferralReason, required: to is ReferralState.Rejected or ReferralState.Failed or ReferralState.Cancelled);
        v.Text($"{path}note", note, ContractLimits.ReferralNote, required: false);
        if (to == ReferralState.Completed)
        {
            v.Enum($"{path}outcome", outcome);
        }
        else if (outcome != ReferralOutcome.Unspecified)
        {
            v.Add($"{path}outcome", "is given only when the referral is completed");
        }
    }

    /// <summary>A referral as created at the sending spoke, checked the same way at both ends.</summary>
    public static void ValidateReferral(FieldValidator v, string path, Referral? referral)
    {
        if (referral is null)
        {
            v.Add(path.TrimEnd('.'), "is required");
            return;
        }
        v.Uuid($"{path}referral_id", referral.ReferralId);
        v.Text($"{path}sending_facility_code", referral.SendingFacilityCode, 32);
        ValidateTarget(v, $"{path}target.", referral.Target);
        v.Pseudonym($"{path}patient_pseudonym", referral.PatientPseudonym);
        v.Text($"{path}reason", referral.Reason, ContractLimits.ReferralReason);
        v.Enum($"{path}urgency", referral.Urgency);
        v.Text($"{path}note", referral.Note, ContractLimits.ReferralNote, required: false);
        v.Text($"{path}clinical_summary", referral.ClinicalSummary, ContractLimits.ClinicalSummary, required: false);
        if (referral.ConsultationId.Length > 0)
        {
            v.Uuid($"{path}consultation_id", referral.ConsultationId);
        }
        if (referral.RegistryRecordId.Length > 0)
        {
            v.Uuid($"{path}registry_record_id", referral.RegistryRecordId);
        }
        if (referral.SharedRecord is { } shared && (shared.RecordId != referral.RegistryRecordId || shared.PatientPseudonym != referral.PatientPseudonym))
        {
            v.Add($"{path}shared_record", "must be the linked registry record, of the same patient");
        }
        v.Text($"{path}created_by", referral.CreatedBy, ContractLimits.PersonName);
        if (referral.CreatedAt is null)
        {
            v.Add($"{path}created_at", "is required");
        }
    }

    public static void ValidateTarget(FieldValidator v, string path, ReferralTarget? target)
    {
        switch (target?.TargetCase)
        {
            case ReferralTarget.TargetOneofCase.FacilityCode:
                v.Text($"{path}facility_code", target.FacilityCode, 32);
                break;
            case ReferralTarget.TargetOneofCase.TrialArm:
                v.Text($"{path}trial_arm.trial_id", target.TrialArm.TrialId, 40);
                v.Text($"{path}trial_arm.arm_id", target.TrialArm.ArmId, 32);
                v.Text($"{path}trial_arm.site_facility_code", target.TrialArm.SiteFacilityCode, 32, required: false);
                break;
            default:
                v.Add(path.TrimEnd('.'), "is required: a facility_code or a trial_arm");
                break;
        }
    }

    /// <summary>
    /// The facility a target is received at, from a copy of the directory (the hub's or a spoke's): the facility
    /// itself, or the trial's site. Refused when the target is retired, closed or not in the directory.
    /// </summary>
    public static Facility ResolveReceiver(ReferralTarget target, IReadOnlyDictionary<string, Facility> facilities, IReadOnlyDictionary<string, Trial> trials)
    {
        string facilityCode;
        if (target.TargetCase == ReferralTarget.TargetOneofCase.TrialArm)
        {
            var wanted = target.TrialArm;
            if (!trials.TryGetValue(wanted.TrialId, out var trial))
            {
                throw new InvalidFieldsException([new FieldViolation("target.trial_arm.trial_id", $"'{wanted.TrialId}' is not a trial of the catalogue")]);
            }
            var arm = trial.Arms.FirstOrDefault(a => a.ArmId == wanted.ArmId)
                ?? throw new InvalidFieldsException([new FieldViolation("target.trial_arm.arm_id", $"trial {trial.TrialId} has no arm '{wanted.ArmId}'; its arms: {string.Join(", ", trial.Arms.Select(a => a.ArmId))}")]);
            if (trial.Retired || trial.Status != RecruitmentStatus.Recruiting || arm.Status != RecruitmentStatus.Recruiting)
            {
                throw new PreconditionFailedException("TRIAL_NOT_RECRUITING", $"Trial {trial.TrialId} arm {arm.ArmId} is not recruiting{(trial.Retired ? " (the trial is retired)" : "")}.");
            }
            facilityCode = wanted.SiteFacilityCode.Length > 0 ? wanted.SiteFacilityCode : trial.SiteFacilityCodes[0];
            if (!trial.SiteFacilityCodes.Contains(facilityCode))
            {
                throw new InvalidFieldsException([new FieldViolation("target.trial_arm.site_facility_code",
                    $"'{facilityCode}' is not a site of trial {trial.TrialId}; its sites: {string.Join(", ", trial.SiteFacilityCodes)}")]);
            }
        }
        else
        {
            facilityCode = target.FacilityCode;
        }
        if (!facilities.TryGetValue(facilityCode, out var facility))
        {
            throw new InvalidFieldsException([new FieldViolation(target.TargetCase == ReferralTarget.TargetOneofCase.TrialArm ? "target.trial_arm.site_facility_code" : "target.facility_code",
                $"'{facilityCode}' is not a facility of the directory")]);
        }
        if (facility.Retired)
        {
            throw new PreconditionFailedException("FACILITY_RETIRED", $"Facility {facilityCode} is retired and takes no new referrals.");
        }
        if (facility.ServingNodeId.Length == 0)
        {
            throw new PreconditionFailedException("NO_SERVING_SPOKE", $"No spoke serves facility {facilityCode} yet.");
        }
        return facility;
    }
}
