using System.Text;

namespace RareCancerNetwork.Tests.Shared;

/// <summary>Import files in the documented layout (docs/registry-import.md), with Japanese text.</summary>
public static class RegistryCsvSamples
{
    public const string Header =
        "local_patient_id,record_id,enrolment_date,age_at_enrolment,sex,prefecture,topography_code,morphology_code,category,advanced,diagnosis_date,ecog," +
        "panel_facility_code,panel_name,panel_ordered_date,expert_panel_date,result_explained_date,panel_specimen,actionable_alteration_found,treatment_recommended," +
        "genomic_database_consent,biomarkers,treatment_lines,vital_status,progression_date,death_date,last_contact_date,registry_participation,secondary_use";

    /// <summary>A valid row; <paramref name="gene"/> and <paramref name="age"/> let a test make it invalid.</summary>
    public static string Row(string localPatientId, string gene = "MDM2", string age = "47", string regimen = "パゾパニブ") =>
        $"{localPatientId},,2025-04-10,{age},female,東京都,C49.2,8851/3,soft_tissue,yes,2025-03-01,1," +
        "CORE-004,FoundationOne CDx がん遺伝子パネル,2025-04-15,2025-05-20,2025-05-27,tissue,yes,yes,yes," +
        $"\"{gene}|amplification||copy number 24|;EWSR1|fusion|FLI1|EWSR1::FLI1|;KRAS|mutation||p.G12C|0.31\"," +
        $"\"{regimen}|2025-06-01|2025-09-30|no||stable_disease|2025-08-01;MDM2阻害薬（治験）|2025-10-15||yes|jRCT2031250001|partial_response|2026-01-10\"," +
        "alive,2025-09-20,,2026-02-01,yes,yes";

    public static string File(IEnumerable<string> rows) => Header + "\n" + string.Join("\n", rows) + "\n";

    public static byte[] Utf8WithBom(string text) => [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)];

    public static byte[] ShiftJis(string text)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(932).GetBytes(text);
    }
}
