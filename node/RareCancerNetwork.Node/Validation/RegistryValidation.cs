using System.Globalization;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Validation;

/// <summary>
/// The registry record's rules, the same at the spoke (before anything is stored) and at the hub
/// (before anything is accepted). Every violation is named by its field path (<c>biomarkers[2].gene</c>).
/// </summary>
public static class RegistryValidation
{
    /// <param name="v">Collects the violations.</param>
    /// <param name="record">The record version to check.</param>
    /// <param name="today">Today in Japan: nothing is dated after it.</param>
    /// <param name="path">Prefix for field paths (<c>record.</c> in a request that wraps the record).</param>
    public static void Validate(FieldValidator v, RegistryRecord? record, DateOnly today, string path = "")
    {
        if (record is null)
        {
            v.Add(path.TrimEnd('.'), "is required");
            return;
        }
        v.Uuid($"{path}record_id", record.RecordId);
        v.Range($"{path}version", record.Version, 1, long.MaxValue);
        v.Pseudonym($"{path}patient_pseudonym", record.PatientPseudonym);
        v.Text($"{path}enrolling_facility_code", record.EnrollingFacilityCode, 32);
        var enrolled = Date(v, $"{path}enrolment_date", record.EnrolmentDate, today, required: true);
        v.Range($"{path}age_at_enrolment", record.AgeAtEnrolment, 0, ContractLimits.PatientAgeYears);
        v.Enum($"{path}sex", record.Sex);
        if (v.Text($"{path}prefecture", record.Prefecture, 10) && !ReferenceLists.Prefectures.Contains(record.Prefecture))
        {
            v.Add($"{path}prefecture", $"'{record.Prefecture}' is not one of the 47 prefectures (their Japanese names, e.g. 東京都)");
        }
        if (record.HasEcog)
        {
            v.Range($"{path}ecog", record.Ecog, 0, 4);
        }

        DateOnly? diagnosed = null;
        if (record.Diagnosis is not { } diagnosis)
        {
            v.Add($"{path}diagnosis", "is required");
        }
        else
        {
            if (v.Text($"{path}diagnosis.topography_code", diagnosis.TopographyCode, 5)
                && (!FieldValidator.TopographyCode().IsMatch(diagnosis.TopographyCode) || int.Parse(diagnosis.TopographyCode[1..3], CultureInfo.InvariantCulture) > 80))
            {
                v.Add($"{path}diagnosis.topography_code", "must be an ICD-O-3 topography code C00.0-C80.9");
            }
            v.Pattern($"{path}diagnosis.morphology_code", diagnosis.MorphologyCode, FieldValidator.MorphologyCode(),
                "must be an ICD-O-3 morphology code dddd/d (behaviour 0, 1, 2, 3, 6 or 9)");
            v.Enum($"{path}diagnosis.category", diagnosis.Category);
            diagnosed = Date(v, $"{path}diagnosis.diagnosis_date", diagnosis.DiagnosisDate, today, required: true);
            if (diagnosed > enrolled)
            {
                v.Add($"{path}diagnosis.diagnosis_date", "must not be after the enrolment date");
            }
        }

        DateOnly? died = null;
        if (record.FollowUp is not { } followUp)
        {
            v.Add($"{path}follow_up", "is required");
        }
        else
        {
            v.Enum($"{path}follow_up.vital_status", followUp.VitalStatus);
            died = Date(v, $"{path}follow_up.death_date", followUp.DeathDate, today, required: followUp.VitalStatus == VitalStatus.Deceased);
            if (died is not null && followUp.VitalStatus != VitalStatus.Deceased)
            {
                v.Add($"{path}follow_up.death_date", "is only given when vital_status is DECEASED");
            }
            var progressed = Date(v, $"{path}follow_up.progression_date", followUp.ProgressionDate, today, required: false);
            NotBefore(v, $"{path}follow_up.progression_date", progressed, diagnosed, "the diagnosis");
            NotAfterDeath(v, $"{path}follow_up.progression_date", progressed, died);
            var lastContact = Date(v, $"{path}follow_up.last_contact_date", followUp.LastContactDate, today, required: true);
            NotAfterDeath(v, $"{path}follow_up.last_contact_date", lastContact, died);
        }

        if (record.Consent is null)
        {
            v.Add($"{path}consent", "is required (record registry participation and secondary use either way)");
        }

        Count(v, $"{path}panel_tests", record.PanelTests.Count, ContractLimits.PanelTests);
        for (var i = 0; i < record.PanelTests.Count && i < ContractLimits.PanelTests; i++)
        {
            var test = record.PanelTests[i];
            var at = $"{path}panel_tests[{i}]";
            v.Text($"{at}.performing_facility_code", test.PerformingFacilityCode, 32);
            v.Text($"{at}.panel_name", test.PanelName, ContractLimits.RegistryShortText);
            var ordered = Date(v, $"{at}.ordered_date", test.OrderedDate, today, required: true);
            var reviewed = Date(v, $"{at}.expert_panel_date", test.ExpertPanelDate, today, required: false);
            var explained = Date(v, $"{at}.result_explained_date", test.ResultExplainedDate, today, required: false);
            NotBefore(v, $"{at}.expert_panel_date", reviewed, ordered, "the order");
            NotBefore(v, $"{at}.result_explained_date", explained, ordered, "the order");
            NotAfterDeath(v, $"{at}.ordered_date", ordered, died);
            v.Enum($"{at}.specimen", test.Specimen);
            v.Enum($"{at}.genomic_database_consent", test.GenomicDatabaseConsent);
        }

        Count(v, $"{path}biomarkers", record.Biomarkers.Count, ContractLimits.Biomarkers);
        for (var i = 0; i < record.Biomarkers.Count && i < ContractLimits.Biomarkers; i++)
        {
            var biomarker = record.Biomarkers[i];
            var at = $"{path}biomarkers[{i}]";
            v.Enum($"{at}.alteration_type", biomarker.AlterationType);
            // TMB-high and MSI-high are signatures of the whole tumour; every other alteration names its gene.
            if (biomarker.AlterationType is not (AlterationType.TmbHigh or AlterationType.MsiHigh) || biomarker.Gene.Length > 0)
            {
                Gene(v, $"{at}.gene", biomarker.Gene);
            }
            if (biomarker.AlterationType == AlterationType.Fusion)
            {
                Gene(v, $"{at}.fusion_partner", biomarker.FusionPartner);
            }
            else if (biomarker.FusionPartner.Length > 0)
            {
                v.Add($"{at}.fusion_partner", "is only given for a FUSION");
            }
            v.Text($"{at}.detail", biomarker.Detail, ContractLimits.RegistryShortText, required: false);
            if (biomarker.HasVariantAlleleFraction && biomarker.VariantAlleleFraction is not (>= 0 and <= 1))
            {
                v.Add($"{at}.variant_allele_fraction", $"must be between 0 and 1; got {biomarker.VariantAlleleFraction.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        Count(v, $"{path}treatment_lines", record.TreatmentLines.Count, ContractLimits.TreatmentLines);
        for (var i = 0; i < record.TreatmentLines.Count && i < ContractLimits.TreatmentLines; i++)
        {
            var line = record.TreatmentLines[i];
            var at = $"{path}treatment_lines[{i}]";
            v.Text($"{at}.regimen", line.Regimen, ContractLimits.RegistryShortText);
            var started = Date(v, $"{at}.start_date", line.StartDate, today, required: true);
            NotBefore(v, $"{at}.start_date", started, diagnosed, "the diagnosis");
            NotAfterDeath(v, $"{at}.start_date", started, died);
            var ended = Date(v, $"{at}.end_date", line.EndDate, today, required: false);
            NotBefore(v, $"{at}.end_date", ended, started, "the start");
            NotAfterDeath(v, $"{at}.end_date", ended, died);
            v.Text($"{at}.trial_id", line.TrialId, 64, required: false);
            if (v.Text($"{at}.arm_id", line.ArmId, 64, required: false) && line.ArmId.Length > 0 && line.TrialId.Length == 0)
            {
                v.Add($"{at}.arm_id", "is given only with trial_id (the arm of which trial)");
            }
            v.OptionalEnum($"{at}.best_response", line.BestResponse);
            var assessed = Date(v, $"{at}.best_response_date", line.BestResponseDate, today, required: line.BestResponse != RecistResponse.Unspecified);
            NotBefore(v, $"{at}.best_response_date", assessed, started, "the start");
            NotAfterDeath(v, $"{at}.best_response_date", assessed, died);
        }
        v.Text($"{path}updated_by", record.UpdatedBy, ContractLimits.PersonName);
    }

    private static void Gene(FieldValidator v, string field, string symbol)
    {
        if (v.Text(field, symbol, 32) && ReferenceLists.GeneProblem(symbol) is { } problem)
        {
            v.Add(field, problem);
        }
    }

    private static void Count(FieldValidator v, string field, int count, int maximum)
    {
        if (count > maximum)
        {
            v.Add(field, $"holds {count} entries; the limit is {maximum}");
        }
    }

    /// <returns>The date when present and valid.</returns>
    private static DateOnly? Date(FieldValidator v, string field, string value, DateOnly today, bool required)
    {
        if (value.Length == 0 && !required)
        {
            return null;
        }
        return v.Date(field, value, today);
    }

    private static void NotBefore(FieldValidator v, string field, DateOnly? date, DateOnly? earliest, string what)
    {
        if (date < earliest)
        {
            v.Add(field, $"must not be before {what} ({earliest:yyyy-MM-dd})");
        }
    }

    private static void NotAfterDeath(FieldValidator v, string field, DateOnly? date, DateOnly? died)
    {
        if (date > died)
        {
            v.Add(field, $"must not be after the death date ({died:yyyy-MM-dd})");
        }
    }
}
