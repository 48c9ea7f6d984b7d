using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// The one matcher the hub and every spoke run. The sample record: 47 at enrolment on 2025-04-10, 8851/3 soft-tissue
/// sarcoma, ECOG 1, two treatment lines, a gene panel reviewed by an expert panel that found an MDM2 amplification,
/// an EWSR1::FLI1 fusion and KRAS p.G12C.
/// </summary>
public sealed class TrialMatcherTests
{
    private static readonly DateOnly BeforeAnniversary = new(2026, 4, 9);
    private static readonly DateOnly Anniversary = new(2026, 4, 10);

    private static BiomarkerCriterion Requires(string gene, AlterationType type, string detail = "", string partner = "") =>
        new() { Requirement = new BiomarkerRequirement { Gene = gene, AlterationType = type, Detail = detail, FusionPartner = partner } };

    private static BiomarkerCriterion AllOf(params BiomarkerCriterion[] criteria) => new() { AllOf = new BiomarkerCriteria { Criteria = { criteria } } };

    private static BiomarkerCriterion AnyOf(params BiomarkerCriterion[] criteria) => new() { AnyOf = new BiomarkerCriteria { Criteria = { criteria } } };

    private static BiomarkerCriterion Not(BiomarkerCriterion criterion) => new() { NoneOf = criterion };

    private static Trial Trial(Eligibility? armEligibility, Eligibility? trialEligibility = null, string id = "jRCT2031990001", string arm = "A",
        RecruitmentStatus status = RecruitmentStatus.Recruiting, RecruitmentStatus armStatus = RecruitmentStatus.Recruiting) => new()
    {
        TrialId = id,
        Title = "試験",
        Phase = TrialPhase._2,
        Status = status,
        SiteFacilityCodes = { "CORE-011" },
        Eligibility = trialEligibility,
        Arms = { new TrialArm { ArmId = arm, Title = "arm " + arm, Status = armStatus, Eligibility = armEligibility } },
    };

    private static TrialMatchResult Match(RegistryRecord record, DateOnly today, params Trial[] trials) =>
        TrialMatcher.Match(record, trials, 7, today, DateTimeOffset.UtcNow);

    /// <summary>The one criterion's outcome: MET/UNKNOWN from a match, NOT_MET from a near-miss; null when the arm is in neither list.</summary>
    private static CriterionOutcome? Outcome(Eligibility eligibility, RegistryRecord? record = null, DateOnly? today = null)
    {
        var result = Match(record ?? RegistrySamples.Record(), today ?? Anniversary, Trial(eligibility));
        var arm = result.Matches.Concat(result.NearMisses).SingleOrDefault();
        return arm is null ? null : Assert.Single(arm.Criteria).Outcome;
    }

    private static RegistryRecord WithoutReviewedPanel()
    {
        var record = RegistrySamples.Record();
        record.PanelTests[0].ExpertPanelDate = "";
        return record;
    }

    public static TheoryData<string, BiomarkerCriterion, CriterionOutcome> BiomarkerCases => new()
    {
        { "the amplification held", Requires("MDM2", AlterationType.Amplification), CriterionOutcome.Met },
        { "another gene, panel reviewed", Requires("CDK4", AlterationType.Amplification), CriterionOutcome.NotMet },
        { "the gene, another alteration type", Requires("MDM2", AlterationType.Mutation), CriterionOutcome.NotMet },
        { "a specific change, written without p.", Requires("KRAS", AlterationType.Mutation, "G12C"), CriterionOutcome.Met },
        { "another specific change", Requires("KRAS", AlterationType.Mutation, "p.G12D"), CriterionOutcome.NotMet },
        { "a fusion of any partner", Requires("EWSR1", AlterationType.Fusion), CriterionOutcome.Met },
        { "a fusion with its partner", Requires("EWSR1", AlterationType.Fusion, partner: "FLI1"), CriterionOutcome.Met },
        { "a fusion with another partner", Requires("EWSR1", AlterationType.Fusion, partner: "ERG"), CriterionOutcome.NotMet },
        { "TMB-high, not found", Requires("", AlterationType.TmbHigh), CriterionOutcome.NotMet },
        { "and: both held", AllOf(Requires("MDM2", AlterationType.Amplification), Requires("KRAS", AlterationType.Mutation)), CriterionOutcome.Met },
        { "and: one missing", AllOf(Requires("MDM2", AlterationType.Amplification), Requires("BRAF", AlterationType.Mutation)), CriterionOutcome.NotMet },
        { "or: one held", AnyOf(Requires("BRAF", AlterationType.Mutation), Requires("MDM2", AlterationType.Amplification)), CriterionOutcome.Met },
        { "or: none held", AnyOf(Requires("BRAF", AlterationType.Mutation), Requires("NTRK1", AlterationType.Fusion)), CriterionOutcome.NotMet },
        { "not: held", Not(Requires("KRAS", AlterationType.Mutation)), CriterionOutcome.NotMet },
        { "not: absent", Not(Requires("BRAF", AlterationType.Mutation)), CriterionOutcome.Met },
        { "and with not", AllOf(Requires("MDM2", AlterationType.Amplification), Not(Requires("CDK4", AlterationType.Amplification))), CriterionOutcome.Met },
        { "or of ands", AnyOf(AllOf(Requires("BRAF", AlterationType.Mutation), Requires("MDM2", AlterationType.Amplification)),
            AllOf(Requires("EWSR1", AlterationType.Fusion), Not(Requires("TP53", AlterationType.Mutation)))), CriterionOutcome.Met },
    };

    [Theory, MemberData(nameof(BiomarkerCases))]
    public void Biomarkers_AreJudgedAgainstTheReviewedPanel(string because, BiomarkerCriterion criterion, CriterionOutcome expected)
    {
        Assert.True(expected == Outcome(new Eligibility { Biomarkers = criterion }), because);
    }

    [Fact]
    public void Biomarkers_WithoutAReviewedPanel_AnAbsentAlterationIsUnknown_AndUnknownCombinesByThreeValuedLogic()
    {
        var record = WithoutReviewedPanel();
        Assert.Equal(CriterionOutcome.Met, Outcome(new Eligibility { Biomarkers = Requires("MDM2", AlterationType.Amplification) }, record));
        Assert.Equal(CriterionOutcome.Unknown, Outcome(new Eligibility { Biomarkers = Requires("NTRK1", AlterationType.Fusion) }, record));
        Assert.Equal(CriterionOutcome.Unknown, Outcome(new Eligibility { Biomarkers = Not(Requires("BRAF", AlterationType.Mutation)) }, record));
        // Known facts still decide: or with one held is met; and with one failed is not met.
        Assert.Equal(CriterionOutcome.Met, Outcome(new Eligibility { Biomarkers = AnyOf(Requires("NTRK1", AlterationType.Fusion), Requires("MDM2", AlterationType.Amplification)) }, record));
        Assert.Equal(CriterionOutcome.NotMet, Outcome(new Eligibility { Biomarkers = AllOf(Requires("NTRK1", AlterationType.Fusion), Not(Requires("MDM2", AlterationType.Amplification))) }, record));
        Assert.Equal(CriterionOutcome.Unknown, Outcome(new Eligibility { Biomarkers = AllOf(Requires("NTRK1", AlterationType.Fusion), Requires("MDM2", AlterationType.Amplification)) }, record));
    }

    public static TheoryData<string, TumourType, CriterionOutcome> TumourCases => new()
    {
        { "the exact code", new TumourType { MorphologyCode = "8851/3" }, CriterionOutcome.Met },
        { "another code", new TumourType { MorphologyCode = "9137/3" }, CriterionOutcome.NotMet },
        { "a range holding it", new TumourType { MorphologyRange = new MorphologyRange { First = "8800/3", Last = "8991/3" } }, CriterionOutcome.Met },
        { "a range ending at it", new TumourType { MorphologyRange = new MorphologyRange { First = "8800/3", Last = "8851/3" } }, CriterionOutcome.Met },
        { "a range starting after it", new TumourType { MorphologyRange = new MorphologyRange { First = "8852/3", Last = "8991/3" } }, CriterionOutcome.NotMet },
        { "a range of another behaviour", new TumourType { MorphologyRange = new MorphologyRange { First = "8800/1", Last = "8991/1" } }, CriterionOutcome.NotMet },
        { "its category", new TumourType { Category = OrganSystem.SoftTissue }, CriterionOutcome.Met },
        { "another category", new TumourType { Category = OrganSystem.Bone }, CriterionOutcome.NotMet },
    };

    [Theory, MemberData(nameof(TumourCases))]
    public void TumourTypes_ByCodeRangeOrCategory(string because, TumourType type, CriterionOutcome expected)
    {
        Assert.True(expected == Outcome(new Eligibility { TumourTypes = { type } }), because);
        // Any one of several types is enough.
        Assert.Equal(CriterionOutcome.Met, Outcome(new Eligibility { TumourTypes = { type, new TumourType { MorphologyCode = "8851/3" } } }));
    }

    [Theory]
    // 47 at enrolment on 2025-04-10: 47 the day before the anniversary, 48 on it.
    [InlineData(47, null, "2026-04-09", CriterionOutcome.Met)]
    [InlineData(48, null, "2026-04-09", CriterionOutcome.NotMet)]
    [InlineData(48, null, "2026-04-10", CriterionOutcome.Met)]
    [InlineData(null, 47, "2026-04-09", CriterionOutcome.Met)]
    [InlineData(null, 47, "2026-04-10", CriterionOutcome.NotMet)]
    [InlineData(48, 48, "2026-04-10", CriterionOutcome.Met)]
    public void Age_BoundsAreInclusive_AndTheAgeTodayCountsTheWholeYearsSinceEnrolment(int? minimum, int? maximum, string today, CriterionOutcome expected)
    {
        var eligibility = new Eligibility();
        if (minimum is { } min)
        {
            eligibility.MinimumAge = min;
        }
        if (maximum is { } max)
        {
            eligibility.MaximumAge = max;
        }
        Assert.Equal(expected, Outcome(eligibility, today: DateOnly.Parse(today, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData(1, CriterionOutcome.Met)]
    [InlineData(2, CriterionOutcome.Met)]
    [InlineData(0, CriterionOutcome.NotMet)]
    public void Ecog_AtAndAroundTheBound(int maximum, CriterionOutcome expected) =>
        Assert.Equal(expected, Outcome(new Eligibility { MaximumEcog = maximum }));

    [Fact]
    public void Ecog_NotRecorded_IsUnknown_ShownAsSuch_AndNoFailure()
    {
        var record = RegistrySamples.Record();
        record.ClearEcog();
        var result = Match(record, Anniversary, Trial(new Eligibility { MaximumEcog = 1 }));
        var match = Assert.Single(result.Matches);
        var ecog = Assert.Single(match.Criteria);
        Assert.Equal((TrialMatcher.Ecog, CriterionOutcome.Unknown), (ecog.Criterion, ecog.Outcome));
        Assert.Contains("not recorded", ecog.Explanation, StringComparison.Ordinal);
        Assert.Empty(result.NearMisses);
    }

    [Theory]
    [InlineData(2, null, CriterionOutcome.Met)]
    [InlineData(3, null, CriterionOutcome.NotMet)]
    [InlineData(null, 2, CriterionOutcome.Met)]
    [InlineData(null, 1, CriterionOutcome.NotMet)]
    public void PriorLines_CountTheRecordsTreatmentLines(int? minimum, int? maximum, CriterionOutcome expected)
    {
        var eligibility = new Eligibility();
        if (minimum is { } min)
        {
            eligibility.MinimumPriorLines = min;
        }
        if (maximum is { } max)
        {
            eligibility.MaximumPriorLines = max;
        }
        Assert.Equal(expected, Outcome(eligibility));
    }

    [Fact]
    public void ClosedArms_ClosedTrials_AndRetiredTrials_AreNeverMatched()
    {
        var open = Trial(new Eligibility { Biomarkers = Requires("MDM2", AlterationType.Amplification) }, id: "jRCT1", arm: "open");
        open.Arms.Add(new TrialArm { ArmId = "closed", Title = "closed", Status = RecruitmentStatus.Closed, Eligibility = open.Arms[0].Eligibility });
        var closed = Trial(null, id: "jRCT2", status: RecruitmentStatus.Closed);
        var retired = Trial(null, id: "jRCT3");
        retired.Retired = true;

        var result = Match(RegistrySamples.Record(), Anniversary, open, closed, retired);

        Assert.Equal(["jRCT1/open"], result.Matches.Select(m => $"{m.TrialId}/{m.ArmId}"));
        Assert.Empty(result.NearMisses);
    }

    [Fact]
    public void Ranking_BiomarkerMatchedFirst_ThenFewerUnknowns_AndNearMissesNameTheFailedCriterion()
    {
        var record = RegistrySamples.Record();
        record.ClearEcog();
        var agnostic = Trial(null, new Eligibility { TumourTypes = { new TumourType { Category = OrganSystem.SoftTissue } } }, id: "jRCT-A");
        var matchedWithUnknown = Trial(new Eligibility { Biomarkers = Requires("MDM2", AlterationType.Amplification), MaximumEcog = 1 }, id: "jRCT-B");
        var matched = Trial(new Eligibility { Biomarkers = Requires("EWSR1", AlterationType.Fusion) }, id: "jRCT-C");
        var nearMiss = Trial(new Eligibility { Biomarkers = Requires("MDM2", AlterationType.Amplification) }, new Eligibility { MinimumAge = 60 }, id: "jRCT-D");
        var twoFailures = Trial(new Eligibility { Biomarkers = Requires("BRAF", AlterationType.Mutation), MaximumPriorLines = 0 }, id: "jRCT-E");

        var result = Match(record, Anniversary, agnostic, matchedWithUnknown, matched, nearMiss, twoFailures);

        Assert.Equal(["jRCT-C", "jRCT-B", "jRCT-A"], result.Matches.Select(m => m.TrialId));
        Assert.Equal([true, true, false], result.Matches.Select(m => m.BiomarkerMatched));
        var miss = Assert.Single(result.NearMisses);
        Assert.Equal("jRCT-D", miss.TrialId);
        var failed = Assert.Single(miss.Criteria, c => c.Outcome == CriterionOutcome.NotMet);
        Assert.Equal(TrialMatcher.Age, failed.Criterion);
        Assert.Contains("60 years or more", failed.Explanation, StringComparison.Ordinal);
        Assert.Contains(miss.Criteria, c => c.Criterion == TrialMatcher.Biomarkers && c.Explanation.Contains("MDM2 amplification found", StringComparison.Ordinal));
    }

    [Fact]
    public void TrialAndArmCriteria_BothApply()
    {
        var trial = Trial(new Eligibility { Biomarkers = Requires("MDM2", AlterationType.Amplification) }, new Eligibility { MaximumEcog = 1, MinimumAge = 18 });
        var match = Assert.Single(Match(RegistrySamples.Record(), Anniversary, trial).Matches);
        Assert.Equal([TrialMatcher.Age, TrialMatcher.Ecog, TrialMatcher.Biomarkers], match.Criteria.Select(c => c.Criterion));
        Assert.All(match.Criteria, c => Assert.Equal(CriterionOutcome.Met, c.Outcome));
    }

    [Fact]
    public void ADeceasedPatient_IsMatchedToNothing_WithTheReason()
    {
        var record = RegistrySamples.Record();
        record.FollowUp.VitalStatus = VitalStatus.Deceased;
        record.FollowUp.DeathDate = "2026-01-20";
        var result = Match(record, Anniversary, Trial(null));
        Assert.Empty(result.Matches);
        Assert.Empty(result.NearMisses);
        Assert.Contains("deceased", result.NoMatchReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheExampleCatalogue_MatchesTheSampleRecordAsAClinicianWouldExpect()
    {
        var trials = await Directory.TrialCatalogueFile.ParseAsync(await File.ReadAllTextAsync(ExampleTrialsPath(), TestContext.Current.CancellationToken));

        var result = TrialMatcher.Match(RegistrySamples.Record(), trials, 1, Anniversary, DateTimeOffset.UtcNow);

        // Soft-tissue sarcoma, ECOG 1, two prior lines: the biomarker-agnostic immunotherapy trial takes the patient.
        var match = Assert.Single(result.Matches);
        Assert.Equal(("jRCT2031990104", false), (match.TrialId, match.BiomarkerMatched));
        // The MDM2 trial wants intimal sarcoma (9137/3): MDM2 is amplified, so only the tumour type fails.
        var mdm2 = Assert.Single(result.NearMisses, m => m.TrialId == "jRCT2031990101");
        Assert.True(mdm2.BiomarkerMatched);
        Assert.Equal(TrialMatcher.TumourTypes, Assert.Single(mdm2.Criteria, c => c.Outcome == CriterionOutcome.NotMet).Criterion);
        Assert.Equal("jRCT2031990101", result.NearMisses[0].TrialId);
        // The closed ERBB2 arm of the basket trial is never offered.
        Assert.DoesNotContain(result.Matches.Concat(result.NearMisses), m => m.ArmId == "erbb2");
    }

    internal static string ExampleTrialsPath() => RepositoryRoot.File("docs", "examples", "trials.json");
}
