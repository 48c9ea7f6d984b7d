using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>The trial catalogue file: the shipped examples load; an invalid file is refused whole, each error named by its path.</summary>
public sealed class TrialCatalogueFileTests
{
    private static async Task<IReadOnlyList<FieldViolation>> RefusedAsync(string json) =>
        (await Assert.ThrowsAsync<InvalidFieldsException>(() => TrialCatalogueFile.ParseAsync(json))).Violations;

    private static string OneTrial(string arm, string trialExtras = "") =>
        $$"""
        {"format": "rcn-trial-catalogue/1", "trials": [{
          "trial_id": "jRCT2031990001", "title": "試験", "phase": "1b/2", "status": "recruiting", "sites": ["CORE-011"]{{trialExtras}},
          "arms": [{{arm}}]}]}
        """;

    [Fact]
    public async Task TheShippedExamples_Load_WithEveryShapeOfCriterion()
    {
        var trials = await TrialCatalogueFile.ParseAsync(await File.ReadAllTextAsync(TrialMatcherTests.ExampleTrialsPath(), TestContext.Current.CancellationToken));

        Assert.Equal(["jRCT2031990101", "jRCT2031990102", "jRCT2031990103", "jRCT2031990104"], trials.Select(t => t.TrialId));
        var mdm2 = trials[0];
        Assert.Equal((TrialPhase._1B2, 1, "9137/3"), (mdm2.Phase, mdm2.Arms.Count, mdm2.Eligibility.TumourTypes[0].MorphologyCode));
        Assert.Equal(("MDM2", AlterationType.Amplification), (mdm2.Arms[0].Eligibility.Biomarkers.Requirement.Gene, mdm2.Arms[0].Eligibility.Biomarkers.Requirement.AlterationType));
        Assert.True(mdm2.Eligibility.HasMinimumAge && !mdm2.Eligibility.HasMaximumAge, "an absent bound stays unset");
        var basket = trials[1];
        Assert.Equal([RecruitmentStatus.Recruiting, RecruitmentStatus.Closed, RecruitmentStatus.Recruiting], basket.Arms.Select(a => a.Status));
        Assert.Equal(BiomarkerCriterion.CriterionOneofCase.NoneOf, basket.Arms[0].Eligibility.Biomarkers.AllOf.Criteria[1].CriterionCase);
        Assert.Equal(3, trials[2].Arms[0].Eligibility.Biomarkers.AnyOf.Criteria.Count);
        Assert.Null(trials[3].Arms[0].Eligibility);
        Assert.Equal("8800/3", trials[3].Eligibility.TumourTypes[0].MorphologyRange.First);
        Assert.Contains("内膜肉腫", mdm2.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchemaErrors_AreEachNamedByTheirPath()
    {
        var violations = await RefusedAsync("""
            {"format": "rcn-trial-catalogue/1", "trials": [{
              "trial_id": "jRCT2031990001", "title": "t", "phase": "5", "status": "open", "sites": ["CORE-011"], "colour": "blue",
              "arms": [{"arm_id": "A", "title": "a", "status": "recruiting", "eligibility": {"maximum_ecog": 7, "biomarkers": {"gene": "MDM2"}}}]}]}
            """);

        var fields = violations.Select(v => v.Field).ToList();
        Assert.Contains("trials[0].phase", fields);
        Assert.Contains("trials[0].status", fields);
        Assert.Contains(violations, v => v.Field == "trials[0].colour" && v.Description.Contains("not a field", StringComparison.Ordinal));
        Assert.Contains("trials[0].arms[0].eligibility.maximum_ecog", fields);
        Assert.Contains(violations, v => v.Field == "trials[0].arms[0].eligibility.biomarkers" && v.Description.Contains("'alteration'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhatNoSchemaSays_IsCheckedToo_AlsoWithPaths()
    {
        var violations = await RefusedAsync(OneTrial(
            """
            {"arm_id": "A", "title": "a", "status": "recruiting", "eligibility": {
              "biomarkers": {"any_of": [{"gene": "HER2", "alteration": "amplification"}, {"gene": "MDM2", "alteration": "amplification", "fusion_partner": "CDK4"},
                                        {"gene": "TP53", "alteration": "tmb_high"}]},
              "minimum_age": 60, "maximum_age": 20, "tumour_types": [{"morphology_range": ["8900/3", "8800/3"]}, {"morphology_range": ["8800/1", "8900/3"]}]}},
            {"arm_id": "A", "title": "again", "status": "closed"}
            """));

        Assert.Equal(
        [
            "trials[0].arms[0].eligibility.biomarkers.any_of[0].gene",
            "trials[0].arms[0].eligibility.biomarkers.any_of[1].fusion_partner",
            "trials[0].arms[0].eligibility.biomarkers.any_of[2].gene",
            "trials[0].arms[0].eligibility.minimum_age",
            "trials[0].arms[0].eligibility.tumour_types[0].morphology_range",
            "trials[0].arms[0].eligibility.tumour_types[1].morphology_range",
            "trials[0].arms[1].arm_id",
        ], violations.Select(v => v.Field).Order(StringComparer.Ordinal));
        Assert.Contains(violations, v => v.Description.Contains("use the approved symbol ERBB2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotJson_IsRefused()
    {
        var violation = Assert.Single(await RefusedAsync("{\"format\": "));
        Assert.Equal("(file)", violation.Field);
    }

    [Fact]
    public async Task TheSameTrialTwice_IsRefused()
    {
        var trial = """{"trial_id": "jRCT2031990001", "title": "t", "phase": "2", "status": "recruiting", "sites": ["CORE-011"], "arms": [{"arm_id": "A", "title": "a", "status": "recruiting"}]}""";
        var violation = Assert.Single(await RefusedAsync($$"""{"format": "rcn-trial-catalogue/1", "trials": [{{trial}}, {{trial}}]}"""));
        Assert.Equal("trials[1].trial_id", violation.Field);
    }
}
