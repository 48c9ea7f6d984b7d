using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Matching;

/// <summary>
/// Matches one registry record against the trial catalogue. The hub and every spoke run this one
/// implementation, so a spoke offline on its cached catalogue finds what the hub finds.
/// <para>
/// Each stated criterion is met, not met, or unknown (three-valued logic): the matcher asks for
/// nothing the record does not hold, so a missing ECOG or an untested biomarker is unknown, shown
/// as such, and never a failure. An arm with no failed criterion is a match; with exactly one, a
/// near-miss naming it. Closed trials and arms, and retired trials, are never matched.
/// </para>
/// </summary>
public static class TrialMatcher
{
    public const string Biomarkers = "biomarkers";
    public const string TumourTypes = "tumour_types";
    public const string Age = "age";
    public const string Ecog = "ecog";
    public const string PriorLines = "prior_lines";

    /// <summary>Matches as of now, with today's date in Japan (the dates clinicians record).</summary>
    public static TrialMatchResult Match(RegistryRecord record, IEnumerable<Trial> catalogue, long directoryVersion, TimeProvider clock) =>
        Match(record, catalogue, directoryVersion, Validation.ConsultationValidation.TodayInJapan(clock), clock.GetUtcNow());

    public static TrialMatchResult Match(RegistryRecord record, IEnumerable<Trial> catalogue, long directoryVersion, DateOnly today, DateTimeOffset now)
    {
        var result = new TrialMatchResult { RecordId = record.RecordId, DirectoryVersion = directoryVersion, MatchedAt = Timestamp.FromDateTimeOffset(now) };
        if (record.FollowUp?.VitalStatus == VitalStatus.Deceased)
        {
            result.NoMatchReason = "The patient is recorded as deceased.";
            return result;
        }
        var facts = new RecordFacts(record, today);
        var matches = new List<TrialMatch>();
        var nearMisses = new List<TrialMatch>();
        foreach (var trial in catalogue.Where(t => !t.Retired && t.Status == RecruitmentStatus.Recruiting))
        {
            foreach (var arm in trial.Arms.Where(a => a.Status == RecruitmentStatus.Recruiting))
            {
                var criteria = Evaluate(trial.Eligibility, facts).Concat(Evaluate(arm.Eligibility, facts)).ToList();
                var failed = criteria.Count(c => c.Outcome == CriterionOutcome.NotMet);
                if (failed > 1)
                {
                    continue;
                }
                var match = new TrialMatch
                {
                    TrialId = trial.TrialId,
                    TrialTitle = trial.Title,
                    Phase = trial.Phase,
                    ArmId = arm.ArmId,
                    ArmTitle = arm.Title,
                    BiomarkerMatched = criteria.Any(c => c.Criterion == Biomarkers && c.Outcome == CriterionOutcome.Met),
                    Criteria = { criteria },
                    SiteFacilityCodes = { trial.SiteFacilityCodes },
                };
                (failed == 0 ? matches : nearMisses).Add(match);
            }
        }
        result.Matches.AddRange(Rank(matches));
        result.NearMisses.AddRange(Rank(nearMisses));
        return result;
    }

    /// <summary>Biomarker-matched before biomarker-agnostic, then the fewest unknowns, then by trial and arm.</summary>
    private static IEnumerable<TrialMatch> Rank(IEnumerable<TrialMatch> matches) => matches
        .OrderByDescending(m => m.BiomarkerMatched)
        .ThenBy(m => m.Criteria.Count(c => c.Outcome == CriterionOutcome.Unknown))
        .ThenBy(m => m.TrialId, StringComparer.Ordinal)
        .ThenBy(m => m.ArmId, StringComparer.Ordinal);

    private static IEnumerable<CriterionResult> Evaluate(Eligibility? eligibility, RecordFacts facts)
    {
        if (eligibility is null)
        {
            yield break;
        }
        if (eligibility.Biomarkers is { } biomarkers)
        {
            var (outcome, explanation) = EvaluateBiomarkers(biomarkers, facts);
            yield return Result(Biomarkers, outcome, explanation);
        }
        if (eligibility.TumourTypes.Count > 0)
        {
            yield return EvaluateTumourTypes(eligibility.TumourTypes, facts);
        }
        if (eligibility.HasMinimumAge || eligibility.HasMaximumAge)
        {
            var bounds = Bounds(eligibility.HasMinimumAge ? eligibility.MinimumAge : null, eligibility.HasMaximumAge ? eligibility.MaximumAge : null, "year", "years");
            var within = Within(facts.Age, eligibility.HasMinimumAge ? eligibility.MinimumAge : null, eligibility.HasMaximumAge ? eligibility.MaximumAge : null);
            yield return Result(Age, within ? CriterionOutcome.Met : CriterionOutcome.NotMet,
                $"age {facts.Age} ({facts.AgeBasis}); the trial takes {bounds}");
        }
        if (eligibility.HasMaximumEcog)
        {
            yield return facts.Ecog is { } ecog
                ? Result(Ecog, ecog <= eligibility.MaximumEcog ? CriterionOutcome.Met : CriterionOutcome.NotMet,
                    $"ECOG {ecog}; the trial takes ECOG {eligibility.MaximumEcog} or less")
                : Result(Ecog, CriterionOutcome.Unknown, $"ECOG not recorded: unknown (the trial takes ECOG {eligibility.MaximumEcog} or less)");
        }
        if (eligibility.HasMinimumPriorLines || eligibility.HasMaximumPriorLines)
        {
            int? minimum = eligibility.HasMinimumPriorLines ? eligibility.MinimumPriorLines : null;
            int? maximum = eligibility.HasMaximumPriorLines ? eligibility.MaximumPriorLines : null;
            yield return Result(PriorLines, Within(facts.PriorLines, minimum, maximum) ? CriterionOutcome.Met : CriterionOutcome.NotMet,
                $"{facts.PriorLines} prior treatment {(facts.PriorLines == 1 ? "line" : "lines")} recorded; the trial takes {Bounds(minimum, maximum, "line", "lines")}");
        }
    }

    private static CriterionResult EvaluateTumourTypes(IEnumerable<TumourType> types, RecordFacts facts)
    {
        var diagnosis = facts.Record.Diagnosis;
        var described = string.Join(", ", types.Select(Describe));
        var matching = types.FirstOrDefault(type => type.TypeCase switch
        {
            TumourType.TypeOneofCase.MorphologyCode => type.MorphologyCode == diagnosis?.MorphologyCode,
            TumourType.TypeOneofCase.MorphologyRange => MorphologyCodes.InRange(diagnosis?.MorphologyCode, type.MorphologyRange),
            TumourType.TypeOneofCase.Category => type.Category == diagnosis?.Category,
            _ => false,
        });
        var tumour = $"morphology {diagnosis?.MorphologyCode}, category {Names.Organ(diagnosis?.Category ?? OrganSystem.Unspecified)}";
        return matching is null
            ? Result(TumourTypes, CriterionOutcome.NotMet, $"{tumour} is none of: {described}")
            : Result(TumourTypes, CriterionOutcome.Met, $"{tumour} is {Describe(matching)}");
    }

    private static (CriterionOutcome Outcome, string Explanation) EvaluateBiomarkers(BiomarkerCriterion criterion, RecordFacts facts)
    {
        switch (criterion.CriterionCase)
        {
            case BiomarkerCriterion.CriterionOneofCase.Requirement:
                return EvaluateRequirement(criterion.Requirement, facts);
            case BiomarkerCriterion.CriterionOneofCase.AllOf:
            {
                var parts = criterion.AllOf.Criteria.Select(c => EvaluateBiomarkers(c, facts)).ToList();
                var outcome = parts.Any(p => p.Outcome == CriterionOutcome.NotMet) ? CriterionOutcome.NotMet
                    : parts.Any(p => p.Outcome == CriterionOutcome.Unknown) ? CriterionOutcome.Unknown : CriterionOutcome.Met;
                return (outcome, "all of: " + string.Join("; ", parts.Select(p => p.Explanation)));
            }
            case BiomarkerCriterion.CriterionOneofCase.AnyOf:
            {
                var parts = criterion.AnyOf.Criteria.Select(c => EvaluateBiomarkers(c, facts)).ToList();
                var outcome = parts.Any(p => p.Outcome == CriterionOutcome.Met) ? CriterionOutcome.Met
                    : parts.Any(p => p.Outcome == CriterionOutcome.Unknown) ? CriterionOutcome.Unknown : CriterionOutcome.NotMet;
                var shown = outcome == CriterionOutcome.Met ? parts.Where(p => p.Outcome == CriterionOutcome.Met) : parts;
                return (outcome, (outcome == CriterionOutcome.Met ? "" : "any of: ") + string.Join("; ", shown.Select(p => p.Explanation)));
            }
            case BiomarkerCriterion.CriterionOneofCase.NoneOf:
            {
                var (inner, explanation) = EvaluateBiomarkers(criterion.NoneOf, facts);
                return inner switch
                {
                    CriterionOutcome.Met => (CriterionOutcome.NotMet, $"{explanation}, which the trial excludes"),
                    CriterionOutcome.NotMet => (CriterionOutcome.Met, $"{explanation}, as the trial requires"),
                    _ => (CriterionOutcome.Unknown, $"{explanation}; the trial excludes it"),
                };
            }
            default:
                return (CriterionOutcome.Unknown, "no biomarker criterion stated");
        }
    }

    private static (CriterionOutcome Outcome, string Explanation) EvaluateRequirement(BiomarkerRequirement requirement, RecordFacts facts)
    {
        var wanted = Describe(requirement);
        var found = facts.Record.Biomarkers.FirstOrDefault(b => Fulfils(b, requirement));
        if (found is not null)
        {
            return (CriterionOutcome.Met, $"{wanted} found{(found.Detail.Length > 0 ? $" ({found.Detail})" : "")}");
        }
        return facts.PanelReviewed
            ? (CriterionOutcome.NotMet, $"{wanted} not found by the reviewed gene-panel test")
            : (CriterionOutcome.Unknown, $"{wanted}: unknown (no gene-panel result reviewed by an expert panel)");
    }

    private static bool Fulfils(Biomarker biomarker, BiomarkerRequirement requirement)
    {
        if (biomarker.AlterationType != requirement.AlterationType)
        {
            return false;
        }
        // TMB-high and MSI-high are signatures of the whole tumour: the gene does not apply.
        var signature = requirement.AlterationType is AlterationType.TmbHigh or AlterationType.MsiHigh;
        return (signature || string.Equals(biomarker.Gene, requirement.Gene, StringComparison.Ordinal))
            && (requirement.FusionPartner.Length == 0 || string.Equals(biomarker.FusionPartner, requirement.FusionPartner, StringComparison.Ordinal))
            && (requirement.Detail.Length == 0 || string.Equals(NormaliseChange(biomarker.Detail), NormaliseChange(requirement.Detail), StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>"p.V600E", "V600E" and " p.v600e " name the same protein change.</summary>
    private static string NormaliseChange(string detail)
    {
        var trimmed = detail.Trim();
        return trimmed.StartsWith("p.", StringComparison.OrdinalIgnoreCase) ? trimmed[2..] : trimmed;
    }

    public static string Describe(BiomarkerRequirement requirement)
    {
        var alteration = Names.Alteration(requirement.AlterationType);
        var subject = requirement.AlterationType is AlterationType.TmbHigh or AlterationType.MsiHigh ? alteration
            : requirement.FusionPartner.Length > 0 ? $"{requirement.Gene}::{requirement.FusionPartner} {alteration}"
            : $"{requirement.Gene} {alteration}";
        return requirement.Detail.Length > 0 ? $"{subject} {requirement.Detail}" : subject;
    }

    public static string Describe(TumourType type) => type.TypeCase switch
    {
        TumourType.TypeOneofCase.MorphologyCode => type.MorphologyCode,
        TumourType.TypeOneofCase.MorphologyRange => $"{type.MorphologyRange.First}-{type.MorphologyRange.Last}",
        TumourType.TypeOneofCase.Category => $"category {Names.Organ(type.Category)}",
        _ => "(none)",
    };

    private static bool Within(int value, int? minimum, int? maximum) =>
        (minimum is null || value >= minimum) && (maximum is null || value <= maximum);

    private static string Bounds(int? minimum, int? maximum, string one, string many) => (minimum, maximum) switch
    {
        ({ } min, { } max) => $"{min}-{max} {many}",
        ({ } min, null) => $"{min} {(min == 1 ? one : many)} or more",
        (null, { } max) => $"{max} {(max == 1 ? one : many)} or fewer",
        _ => "any",
    };

    private static CriterionResult Result(string criterion, CriterionOutcome outcome, string explanation) =>
        new() { Criterion = criterion, Outcome = outcome, Explanation = explanation };

    /// <summary>What matching reads from a record, worked out once.</summary>
    private sealed class RecordFacts
    {
        public RecordFacts(RegistryRecord record, DateOnly today)
        {
            Record = record;
            // The registry holds the age at enrolment; the age today adds the whole years since.
            var enrolled = DateOnly.TryParseExact(record.EnrolmentDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : today;
            var years = today.Year - enrolled.Year - (today < enrolled.AddYears(today.Year - enrolled.Year) ? 1 : 0);
            Age = record.AgeAtEnrolment + Math.Max(0, years);
            AgeBasis = years > 0 ? $"{record.AgeAtEnrolment} at enrolment on {record.EnrolmentDate}" : "at enrolment";
            Ecog = record.HasEcog ? record.Ecog : null;
            PriorLines = record.TreatmentLines.Count;
            // Only a gene-panel result an expert panel has reviewed shows that an alteration is absent.
            PanelReviewed = record.PanelTests.Any(p => p.ExpertPanelDate.Length > 0);
        }

        public RegistryRecord Record { get; }
        public int Age { get; }
        public string AgeBasis { get; }
        public int? Ecog { get; }
        public int PriorLines { get; }
        public bool PanelReviewed { get; }
    }
}

/// <summary>ICD-O-3 morphology codes (dddd/b) compared as numbers.</summary>
public static class MorphologyCodes
{
    /// <summary>Within the range's histology codes, with the range's behaviour code (both ends carry the same).</summary>
    public static bool InRange(string? code, MorphologyRange range) =>
        Parse(code) is { } value && Parse(range.First) is { } first && Parse(range.Last) is { } last
        && value.Behaviour == first.Behaviour && value.Histology >= first.Histology && value.Histology <= last.Histology;

    public static (int Histology, int Behaviour)? Parse(string? code) =>
        code is { Length: 6 } && code[4] == '/' && int.TryParse(code.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var histology)
            && char.IsAsciiDigit(code[5])
            ? (histology, code[5] - '0')
            : null;
}

/// <summary>Short readable names of the enums the matcher explains with.</summary>
internal static class Names
{
    public static string Alteration(AlterationType type) => type switch
    {
        AlterationType.Mutation => "mutation",
        AlterationType.Amplification => "amplification",
        AlterationType.Deletion => "deletion",
        AlterationType.Fusion => "fusion",
        AlterationType.TmbHigh => "TMB-high",
        AlterationType.MsiHigh => "MSI-high",
        _ => "alteration",
    };

    public static string Organ(OrganSystem organ) => CommandLine.ProtoEnumNames.Name(organ);
}
