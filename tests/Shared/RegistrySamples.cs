using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Tests.Shared;

/// <summary>A full, valid registry record (every part filled), with Japanese free text.</summary>
public static class RegistrySamples
{
    public static RegistryRecord Record(string facilityCode = "CORE-004", string? recordId = null, long version = 1, char pseudonymDigit = 'e') => new()
    {
        RecordId = recordId ?? Guid.CreateVersion7().ToString(),
        Version = version,
        PatientPseudonym = new string(pseudonymDigit, 64),
        EnrollingFacilityCode = facilityCode,
        EnrolmentDate = "2025-04-10",
        AgeAtEnrolment = 47,
        Sex = Sex.Female,
        Prefecture = "東京都",
        Diagnosis = new RegistryDiagnosis
        {
            TopographyCode = "C49.2",
            MorphologyCode = "8851/3",
            Category = OrganSystem.SoftTissue,
            Advanced = true,
            DiagnosisDate = "2025-03-01",
        },
        Ecog = 1,
        PanelTests =
        {
            new PanelTest
            {
                PerformingFacilityCode = facilityCode,
                PanelName = "FoundationOne CDx がん遺伝子パネル",
                OrderedDate = "2025-04-15",
                ExpertPanelDate = "2025-05-20",
                ResultExplainedDate = "2025-05-27",
                Specimen = PanelSpecimen.Tissue,
                ActionableAlterationFound = true,
                TreatmentRecommended = true,
                GenomicDatabaseConsent = ConsentDecision.Yes,
            },
        },
        Biomarkers =
        {
            new Biomarker { Gene = "MDM2", AlterationType = AlterationType.Amplification, Detail = "copy number 24" },
            new Biomarker { Gene = "EWSR1", AlterationType = AlterationType.Fusion, FusionPartner = "FLI1", Detail = "EWSR1::FLI1" },
            new Biomarker { Gene = "KRAS", AlterationType = AlterationType.Mutation, Detail = "p.G12C", VariantAlleleFraction = 0.31 },
        },
        TreatmentLines =
        {
            new TreatmentLine
            {
                Regimen = "パゾパニブ", StartDate = "2025-06-01", EndDate = "2025-09-30", BiomarkerMatched = false,
                BestResponse = RecistResponse.StableDisease, BestResponseDate = "2025-08-01",
            },
            new TreatmentLine
            {
                Regimen = "MDM2阻害薬（治験）", StartDate = "2025-10-15", BiomarkerMatched = true, TrialId = "jRCT2031250001",
                BestResponse = RecistResponse.PartialResponse, BestResponseDate = "2026-01-10",
            },
        },
        FollowUp = new FollowUp { VitalStatus = VitalStatus.Alive, ProgressionDate = "2025-09-20", LastContactDate = "2026-02-01" },
        Consent = new RegistryConsent { RegistryParticipation = true, SecondaryUse = true },
        UpdatedBy = "yamada",
        UpdatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 2, 1, 3, 0, 0, TimeSpan.Zero)),
    };
}
