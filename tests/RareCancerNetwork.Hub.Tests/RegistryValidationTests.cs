using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>The registry record's rules, each violation named by its field path.</summary>
public sealed class RegistryValidationTests
{
    private static readonly DateOnly Today = new(2026, 3, 1);

    private static IReadOnlyList<FieldViolation> Violations(RegistryRecord record)
    {
        var v = new FieldValidator();
        RegistryValidation.Validate(v, record, Today);
        return v.Violations;
    }

    private static string DescriptionOf(IReadOnlyList<FieldViolation> violations, string field) =>
        Assert.Single(violations, f => f.Field == field).Description;

    [Fact]
    public void FullRecord_IsValid() => Assert.Empty(Violations(RegistrySamples.Record()));

    [Fact]
    public void GeneAlias_IsRefused_NamingTheApprovedSymbol()
    {
        var record = RegistrySamples.Record();
        record.Biomarkers[2].Gene = "HER2";
        record.Biomarkers[1].FusionPartner = "PD-L1";
        var violations = Violations(record);
        Assert.Contains("HER2 is an alias of ERBB2", DescriptionOf(violations, "biomarkers[2].gene"), StringComparison.Ordinal);
        Assert.Contains("alias of CD274", DescriptionOf(violations, "biomarkers[1].fusion_partner"), StringComparison.Ordinal);
        record.Biomarkers[2].Gene = "NOTAGENE1";
        Assert.Contains("not an HGNC-approved gene symbol", DescriptionOf(Violations(record), "biomarkers[2].gene"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("C80.9", true)]
    [InlineData("C00.0", true)]
    [InlineData("C81.0", false)]
    [InlineData("C49", false)]
    [InlineData("c49.2", false)]
    public void Topography_IsWithinC00_0ToC80_9(string code, bool valid)
    {
        var record = RegistrySamples.Record();
        record.Diagnosis.TopographyCode = code;
        Assert.Equal(valid, !Violations(record).Any(f => f.Field == "diagnosis.topography_code"));
    }

    [Fact]
    public void Dates_AreConsistent()
    {
        var record = RegistrySamples.Record();
        record.TreatmentLines[0].StartDate = "2025-02-01";           // before the diagnosis (2025-03-01)
        record.PanelTests[0].ResultExplainedDate = "2025-04-01";     // before its order (2025-04-15)
        record.FollowUp.VitalStatus = VitalStatus.Deceased;
        record.FollowUp.DeathDate = "2025-12-31";                    // before the second line's response and the last contact
        var violations = Violations(record);
        Assert.Contains("before the diagnosis", DescriptionOf(violations, "treatment_lines[0].start_date"), StringComparison.Ordinal);
        Assert.Contains("before the order", DescriptionOf(violations, "panel_tests[0].result_explained_date"), StringComparison.Ordinal);
        Assert.Contains("after the death date", DescriptionOf(violations, "treatment_lines[1].best_response_date"), StringComparison.Ordinal);
        Assert.Contains("after the death date", DescriptionOf(violations, "follow_up.last_contact_date"), StringComparison.Ordinal);
    }

    [Fact]
    public void ClosedEnumerations_AndRanges_AreEnforced()
    {
        var record = RegistrySamples.Record();
        record.Ecog = 5;
        record.Biomarkers[0].AlterationType = (AlterationType)42;
        record.Biomarkers[2].VariantAlleleFraction = 1.5;
        record.PanelTests[0].GenomicDatabaseConsent = ConsentDecision.Unspecified;
        record.Prefecture = "Tokyo";
        var violations = Violations(record);
        Assert.Contains("between 0 and 4", DescriptionOf(violations, "ecog"), StringComparison.Ordinal);
        Assert.Contains("unknown value 42", DescriptionOf(violations, "biomarkers[0].alteration_type"), StringComparison.Ordinal);
        Assert.Contains("between 0 and 1", DescriptionOf(violations, "biomarkers[2].variant_allele_fraction"), StringComparison.Ordinal);
        Assert.Contains("required", DescriptionOf(violations, "panel_tests[0].genomic_database_consent"), StringComparison.Ordinal);
        Assert.Contains("47 prefectures", DescriptionOf(violations, "prefecture"), StringComparison.Ordinal);
    }

    [Fact]
    public void FusionPartner_OnlyForFusions_AndSignaturesNeedNoGene()
    {
        var record = RegistrySamples.Record();
        record.Biomarkers[1].FusionPartner = "";
        record.Biomarkers[0].FusionPartner = "FLI1";
        record.Biomarkers.Add(new Biomarker { AlterationType = AlterationType.TmbHigh, Detail = "TMB 14 mut/Mb" });
        var violations = Violations(record);
        Assert.Contains("required", DescriptionOf(violations, "biomarkers[1].fusion_partner"), StringComparison.Ordinal);
        Assert.Contains("only given for a FUSION", DescriptionOf(violations, "biomarkers[0].fusion_partner"), StringComparison.Ordinal);
        Assert.DoesNotContain(violations, f => f.Field.StartsWith("biomarkers[3]", StringComparison.Ordinal));
    }
}
