using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Validation;

/// <summary>
/// Rules for the consultation contract, applied identically at the spoke (before storing)
/// and at the hub (before accepting), so both ends refuse the same things.
/// </summary>
public static class ConsultationValidation
{
    public const int MaxDiagnosisText = 2_000;
    public const int MaxClinicalSummary = 8_000;
    public const int MaxQuestion = 2_000;
    public const int MaxComment = 8_000;
    public const int MaxName = 200;
    public const int MaxAttachments = 50;
    public const int MaxAncillaryTests = 20;
    public const long MaxAttachmentBytes = 64L * 1024 * 1024 * 1024;

    public static void ValidateDetails(FieldValidator v, string path, ConsultationDetails? details, DateOnly today)
    {
        if (details is null)
        {
            v.Add(path, "is required");
            return;
        }
        v.Range($"{path}.patient_age_years", details.PatientAgeYears, 0, 130);
        v.Enum($"{path}.patient_sex", details.PatientSex);
        if (details.Specimen is null)
        {
            v.Add($"{path}.specimen", "is required");
        }
        else
        {
            v.Pattern($"{path}.specimen.topography_code", details.Specimen.TopographyCode, FieldValidator.TopographyCode(),
                "must be an ICD-O-3 topography code such as C49.2");
            v.Text($"{path}.specimen.site_description", details.Specimen.SiteDescription, 500, required: false);
            v.Enum($"{path}.specimen.procedure", details.Specimen.Procedure);
            // A day of slack: the spoke may be a time zone ahead of the server's clock.
            v.Date($"{path}.specimen.collection_date", details.Specimen.CollectionDate, today.AddDays(1));
        }
        ValidateDiagnosis(v, $"{path}.local_diagnosis", details.LocalDiagnosis);
        v.Text($"{path}.clinical_summary", details.ClinicalSummary, MaxClinicalSummary);
        v.Text($"{path}.question", details.Question, MaxQuestion);
        v.Enum($"{path}.organ_system", details.OrganSystem);
        v.Enum($"{path}.urgency", details.Urgency);
        v.Text($"{path}.requesting_pathologist_name", details.RequestingPathologistName, MaxName);
        if (details.Attachments.Count > MaxAttachments)
        {
            v.Add($"{path}.attachments", $"has {details.Attachments.Count} entries; the limit is {MaxAttachments}");
            return;
        }
        for (var i = 0; i < details.Attachments.Count; i++)
        {
            var attachment = details.Attachments[i];
            var at = $"{path}.attachments[{i}]";
            v.Text($"{at}.file_name", attachment.FileName, 255);
            v.Pattern($"{at}.media_type", attachment.MediaType, FieldValidator.MediaType(), "must be a media type such as image/tiff", 129);
            v.Range($"{at}.size_bytes", attachment.SizeBytes, 1, MaxAttachmentBytes);
            v.Pattern($"{at}.sha256_hex", attachment.Sha256Hex, FieldValidator.Sha256Hex(), "must be 64 lowercase hexadecimal characters");
        }
    }

    public static void ValidateDiagnosis(FieldValidator v, string path, Diagnosis? diagnosis)
    {
        if (diagnosis is null)
        {
            v.Add(path, "is required");
            return;
        }
        v.Text($"{path}.text", diagnosis.Text, MaxDiagnosisText);
        v.Pattern($"{path}.morphology_code", diagnosis.MorphologyCode, FieldValidator.MorphologyCode(),
            "must be an ICD-O-3 morphology code with behaviour, such as 8850/3");
    }

    /// <summary>Today's date in Japan, the network's calendar.</summary>
    public static DateOnly TodayInJapan(TimeProvider clock) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(clock.GetUtcNow(), JapanTime.Zone).DateTime);
}
