using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

public sealed class ValidationRuleTests
{
    [Theory]
    [InlineData("8850/3", true)]
    [InlineData("9080/1", true)]
    [InlineData("8140/6", true)]
    [InlineData("8850/4", false)]
    [InlineData("885/3", false)]
    [InlineData("8850-3", false)]
    [InlineData("８８５０/３", false)]
    public void MorphologyCode_FollowsIcdO3(string code, bool valid) => Assert.Equal(valid, FieldValidator.MorphologyCode().IsMatch(code));

    [Theory]
    [InlineData("C49.2", true)]
    [InlineData("C00.0", true)]
    [InlineData("C49", false)]
    [InlineData("c49.2", false)]
    [InlineData("D49.2", false)]
    public void TopographyCode_FollowsIcdO3(string code, bool valid) => Assert.Equal(valid, FieldValidator.TopographyCode().IsMatch(code));

    /// <summary>The date reader reads exactly what .NET's exact parse with the same format reads, and the same date.</summary>
    [Theory]
    [InlineData("2024-02-29")]
    [InlineData("2023-02-29")]
    [InlineData("2024-04-31")]
    [InlineData("2024-12-31")]
    [InlineData("0001-01-01")]
    [InlineData("9999-12-31")]
    [InlineData("0000-01-01")]
    [InlineData("2024-13-01")]
    [InlineData("2024-00-10")]
    [InlineData("2024-01-00")]
    [InlineData("2024-1-01x")]
    [InlineData("2024/01/01")]
    [InlineData("２０２４-01-01")]
    [InlineData(" 2024-01-1")]
    [InlineData("2024-01-01 ")]
    [InlineData("20240101")]
    [InlineData("+024-01-01")]
    [InlineData("")]
    public void DateReader_AgreesWithTheExactParse(string text)
    {
        var expected = DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date);

        Assert.Equal((expected, date), (FieldValidator.TryParseDate(text, out var read), read));
    }

    [Fact]
    public void CollectionDate_InTheFuture_IsRefused_TodayInJapanIsAccepted()
    {
        var today = new DateOnly(2026, 11, 22);
        var v = new FieldValidator();
        v.Date("d1", "2026-11-22", today);
        v.Date("d2", "2026-11-23", today);
        v.Date("d3", "2026-02-30", today);
        Assert.Equal(["d2", "d3"], v.Violations.Select(x => x.Field));
    }

    [Fact]
    public void Uuid_MustBeCanonicalLowercaseVersion7()
    {
        var v = new FieldValidator();
        v.Uuid("a", Guid.CreateVersion7().ToString());
        v.Uuid("b", Guid.CreateVersion7().ToString().ToUpperInvariant());
        v.Uuid("c", Guid.Empty.ToString());
        v.Uuid("d", "{" + Guid.CreateVersion7() + "}");
        v.Uuid("e", Guid.NewGuid().ToString());
        Assert.Equal(["b", "c", "d", "e"], v.Violations.Select(x => x.Field));
    }

    [Fact]
    public void Details_CollectsEveryViolation_WithProtoPaths()
    {
        var v = new FieldValidator();
        ConsultationValidation.ValidateDetails(v, "details", new ConsultationDetails { PatientAgeYears = -1 }, new DateOnly(2026, 11, 22));
        Assert.Equal(
            ["details.clinical_summary", "details.local_diagnosis", "details.organ_system", "details.patient_age_years", "details.patient_sex",
             "details.question", "details.requesting_pathologist_name", "details.specimen", "details.urgency"],
            v.Violations.Select(x => x.Field).Order());
    }

    [Fact]
    public void JapanToday_IsUtcPlusNine()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 11, 22, 15, 30, 0, TimeSpan.Zero));
        Assert.Equal(new DateOnly(2026, 11, 23), ConsultationValidation.TodayInJapan(clock));
        Assert.Equal("2026-11-23 00:30 JST", JapanTime.Format(clock.GetUtcNow()));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
