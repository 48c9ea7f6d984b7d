using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Validation;

/// <summary>
/// Rules for the consultation contract, applied identically at the spoke (before storing)
/// and at the hub (before accepting), so both ends refuse the same things.
/// </summary>
public static class ConsultationValidation
{
    public static void ValidateDetails(FieldValidator v, string path, ConsultationDetails? details, DateOnly today)
    {
        if (details is null)
        {
            v.Add(path, "is required");
            return;
        }
        v.Range($"{path}.patient_age_years", details.PatientAgeYears, 0, ContractLimits.PatientAgeYears);
        v.Enum($"{path}.patient_sex", details.PatientSex);
        if (details.Specimen is null)
        {
            v.Add($"{path}.specimen", "is required");
        }
        else
        {
            v.Pattern($"{path}.specimen.topography_code", details.Specimen.TopographyCode, FieldValidator.TopographyCode(),
                "must be an ICD-O-3 topography code such as C49.2");
            v.Text($"{path}.specimen.site_description", details.Specimen.SiteDescription, ContractLimits.SiteDescription, required: false);
            v.Enum($"{path}.specimen.procedure", details.Specimen.Procedure);
            // A day of slack: the spoke may be a time zone ahead of the server's clock.
            v.Date($"{path}.specimen.collection_date", details.Specimen.CollectionDate, today.AddDays(1));
        }
        ValidateDiagnosis(v, $"{path}.local_diagnosis", details.LocalDiagnosis);
        v.Text($"{path}.clinical_summary", details.ClinicalSummary, ContractLimits.ClinicalSummary);
        v.Text($"{path}.question", details.Question, ContractLimits.Question);
        v.Enum($"{path}.organ_system", details.OrganSystem);
        v.Enum($"{path}.urgency", details.Urgency);
        v.Text($"{path}.requesting_pathologist_name", details.RequestingPathologistName, ContractLimits.PersonName);
        ValidateAttachments(v, $"{path}.attachments", details.Attachments);
    }

    /// <summary>Descriptions of attached files (a consultation's, an information answer's).</summary>
    public static void ValidateAttachments(FieldValidator v, string path, IReadOnlyList<AttachmentDescriptor> attachments)
    {
        if (attachments.Count > ContractLimits.Attachments)
        {
            v.Add(path, $"has {attachments.Count} entries; the limit is {ContractLimits.Attachments}");
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < attachments.Count; i++)
        {
            var attachment = attachments[i];
            var at = $"{path}[{i}]";
            if (attachment.Sha256Hex.Length > 0 && !seen.Add(attachment.Sha256Hex))
            {
                // Stored once by its hash, it would be listed twice.
                v.Add($"{at}.sha256_hex", "names the same file as an earlier entry; attach each file once");
            }
            v.Text($"{at}.file_name", attachment.FileName, ContractLimits.AttachmentFileName);
            v.Pattern($"{at}.media_type", attachment.MediaType, FieldValidator.MediaType(), "must be a media type such as image/tiff", 129);
            v.Range($"{at}.size_bytes", attachment.SizeBytes, 1, ContractLimits.AttachmentBytes);
            v.Sha256($"{at}.sha256_hex", attachment.Sha256Hex);
        }
    }

    public static void ValidateDiagnosis(FieldValidator v, string path, Diagnosis? diagnosis)
    {
        if (diagnosis is null)
        {
            v.Add(path, "is required");
            return;
        }
        v.Text($"{path}.text", diagnosis.Text, ContractLimits.DiagnosisText);
        v.Pattern($"{path}.morphology_code", diagnosis.MorphologyCode, FieldValidator.MorphologyCode(),
            "must be an ICD-O-3 morphology code with behaviour, such as 8850/3");
    }

    /// <summary>Today's date in Japan, the network's calendar.</summary>
    public static DateOnly TodayInJapan(TimeProvider clock) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(clock.GetUtcNow(), JapanTime.Zone).DateTime);
}
