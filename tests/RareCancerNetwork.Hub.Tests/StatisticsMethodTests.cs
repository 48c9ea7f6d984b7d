using RareCancerNetwork.Hub.Statistics;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>The exact methods against published reference values.</summary>
public sealed class StatisticsMethodTests
{
    [Theory]
    // R: binom.test(k, n)$conf.int, the Clopper–Pearson interval.
    [InlineData(7, 20, 0.1539092, 0.5921885)]
    [InlineData(0, 10, 0.0, 0.3084971)]
    [InlineData(10, 10, 0.6915029, 1.0)]
    [InlineData(1, 10, 0.002528579, 0.4450161)]
    [InlineData(50, 100, 0.3983211, 0.6016789)]
    public void ClopperPearson_MatchesReferenceValues(long successes, long trials, double lower, double upper)
    {
        var proportion = ExactMethods.ClopperPearson(successes, trials);
        Assert.Equal((successes, trials), (proportion.Numerator, proportion.Denominator));
        Assert.Equal((double)successes / trials, proportion.Estimate, 12);
        // The reference values are printed to 7 significant digits.
        Assert.Equal(lower, proportion.Lower, 1e-6);
        Assert.Equal(upper, proportion.Upper, 1e-6);
    }

    [Fact]
    public void Quantile_IsRsDefault_Type7()
    {
        // R: quantile(c(1, 2, 3, 4), c(0, 0.5, 0.9, 1)) = 1, 2.5, 3.7, 4; quantile(c(5, 1, 9), 0.9) over sorted 1, 5, 9 = 8.2.
        double[] values = [1, 2, 3, 4];
        Assert.Equal([1, 2.5, 3.7, 4], new[] { 0, 0.5, 0.9, 1 }.Select(p => Math.Round(ExactMethods.Quantile(values, p), 10)));
        Assert.Equal(8.2, ExactMethods.Quantile([1, 5, 9], 0.9), 10);
        Assert.Equal(7, ExactMethods.Quantile([7], 0.9));
    }

    [Fact]
    public void KaplanMeier_MatchesTheTextbookRemissionData_WithGreenwoodAndLogLogIntervals()
    {
        // Freireich et al. (1963), 6-MP arm, weeks in remission, + censored (Gehan 1965; Kleinbaum and Klein, Survival Analysis, ch. 2).
        // Reference: R survival::survfit(Surv(time, status) ~ 1, conf.type = "log-log").
        var weeks = new (double Time, bool Relapse)[]
        {
            (6, true), (6, true), (6, true), (6, false), (7, true), (9, false), (10, true), (10, false), (11, false), (13, true), (16, true),
            (17, false), (19, false), (20, false), (22, true), (23, true), (25, false), (32, false), (32, false), (34, false), (35, false),
        };
        var curve = KaplanMeier.Estimate(weeks.Select(w => new SurvivalObservation(w.Time, w.Relapse)));
        var expected = new (double Time, int AtRisk, int Events, double Survival, double StandardError, double Lower, double Upper)[]
        {
            (6, 21, 3, 0.8571, 0.0764, 0.6197, 0.9516),
            (7, 17, 1, 0.8067, 0.0869, 0.5631, 0.9228),
            (10, 15, 1, 0.7529, 0.0963, 0.5032, 0.8894),
            (13, 12, 1, 0.6902, 0.1068, 0.4316, 0.8491),
            (16, 11, 1, 0.6275, 0.1141, 0.3675, 0.8049),
            (22, 7, 1, 0.5378, 0.1282, 0.2678, 0.7468),
            (23, 6, 1, 0.4482, 0.1346, 0.1881, 0.6801),
        };
        Assert.Equal(expected.Length, curve.Steps.Count);
        foreach (var (step, want) in curve.Steps.Zip(expected))
        {
            Assert.Equal((want.Time, want.AtRisk, want.Events), (step.Time, step.AtRisk, step.Events));
            // The reference is printed to 4 decimals.
            Assert.Equal(want.Survival, step.Survival, 6e-5);
            Assert.Equal(want.StandardError, step.StandardError!.Value, 6e-5);
            Assert.Equal(want.Lower, step.Lower!.Value, 6e-5);
            Assert.Equal(want.Upper, step.Upper!.Value, 6e-5);
        }
        // Median 23 weeks; its interval from 13 weeks, open above (the curve's upper limit never falls below one half).
        Assert.Equal((21, 9, 23.0, 13.0, (double?)null), (curve.Patients, curve.Events, curve.Median, curve.MedianLower, curve.MedianUpper));
        // Censored at 6 weeks with three relapses: at risk at 6, gone before 7.
        Assert.Equal(1, curve.Steps[1].CensoredBefore);
    }

    [Fact]
    public void KaplanMeier_ExactlyOneHalfOverAnInterval_TakesItsMiddle_AndAnEmptyCurveHasNoMedian()
    {
        // Two patients: S = 0.5 from 4 to 10, then 0. survfit gives the median as (4 + 10) / 2 = 7.
        var curve = KaplanMeier.Estimate([new(4, true), new(10, true)]);
        Assert.Equal(7, curve.Median);
        Assert.Null(curve.Steps[^1].Lower);
        var censoredOnly = KaplanMeier.Estimate([new(5, false), new(8, false)]);
        Assert.Empty(censoredOnly.Steps);
        Assert.Null(censoredOnly.Median);
    }
}
