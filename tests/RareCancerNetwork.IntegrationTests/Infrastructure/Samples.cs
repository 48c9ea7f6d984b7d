using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Realistic consultation content, Japanese free text included.</summary>
public static class Samples
{
    public const string JapaneseSummary = "54歳女性。右大腿に10cm大の腫瘤、MRIで脂肪成分を含む。㈱検査部より「至急」。𠮷野家の𠮷（サロゲートペア）と絵文字🧬も保持すること。";

    public static ConsultationDetails Details(OrganSystem organ = OrganSystem.SoftTissue, string summary = JapaneseSummary) => new()
    {
        PatientAgeYears = 54,
        PatientSex = Sex.Female,
        Specimen = new Specimen
        {
            TopographyCode = "C49.2",
            SiteDescription = "右大腿 深部軟部組織",
            Procedure = SpecimenProcedure.Biopsy,
            CollectionDate = "2026-11-10",
        },
        LocalDiagnosis = new Diagnosis { Text = "脂肪肉腫の疑い（高分化型）", MorphologyCode = "8851/3" },
        ClinicalSummary = summary,
        Question = "高分化型脂肪肉腫と脂肪腫の鑑別をお願いします。",
        OrganSystem = organ,
        Urgency = Urgency.Routine,
        RequestingPathologistName = "山田 太郎",
    };

    public static SubmitConsultationRequest Submission(string? localPatientId = null, OrganSystem organ = OrganSystem.SoftTissue) => new()
    {
        ConsultationId = Guid.CreateVersion7().ToString("D"),
        LocalPatientId = localPatientId ?? $"P-{Guid.NewGuid():N}",
        Details = Details(organ),
    };

    /// <summary>What a spoke node delivers to the hub (pseudonymised; no local patient id).</summary>
    public static DeliverConsultationRequest Delivery(string facilityCode, char pseudonymDigit = 'd') => new()
    {
        ConsultationId = Guid.CreateVersion7().ToString("D"),
        RequestingFacilityCode = facilityCode,
        PatientPseudonym = new string(pseudonymDigit, 64),
        SubmittedBy = "yamada",
        SubmittedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        Details = Details(),
    };

    public static SubmitReportRequest Report(string consultationId, int replacesVersion = 0) => new()
    {
        ConsultationId = consultationId,
        Diagnosis = new Diagnosis { Text = "高分化型脂肪肉腫（異型脂肪腫様腫瘍）", MorphologyCode = "8851/3" },
        Concordance = Concordance.Concordant,
        RecommendedAncillaryTests = { "MDM2 FISH" },
        Comment = "MDM2増幅の確認を推奨します。",
        ReplacesVersion = replacesVersion,
        AmendmentReason = replacesVersion > 0 ? "FISH結果を受けて診断を更新" : "",
    };
}
