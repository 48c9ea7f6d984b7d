using MathNet.Numerics.Distributions;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>One patient's time (from the start of follow-up) and whether it ended in the event (else censored).</summary>
public readonly record struct SurvivalObservation(double Time, bool Event);

/// <summary>
/// The estimate just after one time at which an event happened: patients at risk, events, censored since the previous
/// step, the survival probability, its Greenwood standard error and the log-log interval (null where undefined: S = 0).
/// </summary>
public sealed record SurvivalStep(double Time, int AtRisk, int Events, int CensoredBefore, double Survival, double? StandardError, double? Lower, double? Upper);

/// <summary>A Kaplan–Meier curve with its median and the median's interval (null where the curve does not reach it).</summary>
public sealed record SurvivalCurve(IReadOnlyList<SurvivalStep> Steps, int Patients, int Events, double? Median, double? MedianLower, double? MedianUpper);

/// <summary>
/// The Kaplan–Meier product-limit estimator with Greenwood's variance and the log-log ("log(−log S)") confidence
/// interval, as R's survfit(conf.type = "log-log") gives them; the median and its interval by Brookmeyer and Crowley's
/// rule: the first time the curve (its lower, its upper limit) is at or below one half.
/// </summary>
public static class KaplanMeier
{
    public static SurvivalCurve Estimate(IEnumerable<SurvivalObservation> observations, double confidence = 0.95)
    {
        var sorted = observations.OrderBy(o => o.Time).ToList();
        foreach (var o in sorted.Where(o => o.Time < 0 || double.IsNaN(o.Time)))
        {
            throw new ArgumentException($"A survival time must be zero or more; got {o.Time}.", nameof(observations));
        }
        var z = Normal.InvCDF(0, 1, 1 - (1 - confidence) / 2);
        var steps = new List<SurvivalStep>();
        var atRisk = sorted.Count;
        var survival = 1.0;
        var greenwood = 0.0;
        var censoredSinceStep = 0;
        for (var i = 0; i < sorted.Count;)
        {
            var time = sorted[i].Time;
            var events = 0;
            var censored = 0;
            for (; i < sorted.Count && sorted[i].Time == time; i++)
            {
                if (sorted[i].Event)
                {
                    events++;
                }
                else
                {
                    censored++;
                }
            }
            if (events > 0)
            {
                survival *= 1 - (double)events / atRisk;
                greenwood = atRisk > events ? greenwood + (double)events / (atRisk * (double)(atRisk - events)) : double.PositiveInfinity;
                var (standardError, lower, upper) = Interval(survival, greenwood, z);
                steps.Add(new SurvivalStep(time, atRisk, events, censoredSinceStep, survival, standardError, lower, upper));
                censoredSinceStep = 0;
            }
            // Censored at an event's time: still at risk at that time (the usual convention), gone after.
            censoredSinceStep += censored;
            atRisk -= events + censored;
        }
        return new SurvivalCurve(steps, sorted.Count, sorted.Count(o => o.Event),
            FirstAtOrBelowHalf(steps, s => s.Survival, strictly: false),
            FirstAtOrBelowHalf(steps, s => s.Lower, strictly: false),
            FirstAtOrBelowHalf(steps, s => s.Upper, strictly: true));
    }

    private static (double? StandardError, double? Lower, double? Upper) Interval(double survival, double greenwoodSum, double z)
    {
        if (survival <= 0 || double.IsInfinity(greenwoodSum))
        {
            return (survival <= 0 ? null : survival * Math.Sqrt(greenwoodSum), null, null);
        }
        var standardError = survival * Math.Sqrt(greenwoodSum);
        // On the log(−log S) scale the interval is symmetric; back on S it is not, and it stays inside (0, 1).
        var logLogError = Math.Sqrt(greenwoodSum) / Math.Abs(Math.Log(survival));
        return (standardError, Math.Pow(survival, Math.Exp(z * logLogError)), Math.Pow(survival, Math.Exp(-z * logLogError)));
    }

    /// <summary>
    /// The first step time at which the value is at or below one half (below, when <paramref name="strictly"/>); where the
    /// curve is exactly one half over an interval, the middle of that interval, as survfit takes it.
    /// </summary>
    private static double? FirstAtOrBelowHalf(List<SurvivalStep> steps, Func<SurvivalStep, double?> value, bool strictly)
    {
        for (var k = 0; k < steps.Count; k++)
        {
            if (value(steps[k]) is not { } v || (strictly ? v >= 0.5 : v > 0.5))
            {
                continue;
            }
            if (!strictly && Math.Abs(v - 0.5) < 1e-12)
            {
                return k + 1 < steps.Count ? (steps[k].Time + steps[k + 1].Time) / 2 : steps[k].Time;
            }
            return steps[k].Time;
        }
        return null;
    }
}
