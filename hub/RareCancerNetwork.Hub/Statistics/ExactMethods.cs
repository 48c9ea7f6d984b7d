using MathNet.Numerics.Distributions;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>A rate with what it stands on: numerator, denominator, the estimate and its interval. Never rounded here.</summary>
public sealed record Proportion(long Numerator, long Denominator, double Estimate, double Lower, double Upper);

/// <summary>
/// Exact methods for small numbers, as rare cancers have them: normal approximations are wrong at the sizes the
/// registry's subgroups reach.
/// </summary>
public static class ExactMethods
{
    /// <summary>
    /// The Clopper–Pearson interval: the exact binomial interval from the beta distribution's quantiles,
    /// [B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)], with 0 and 1 at the ends (k = 0, k = n).
    /// </summary>
    public static Proportion ClopperPearson(long successes, long trials, double confidence = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, successes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trials);
        var alpha = 1 - confidence;
        var lower = successes == 0 ? 0.0 : Beta.InvCDF(successes, trials - successes + 1, alpha / 2);
        var upper = successes == trials ? 1.0 : Beta.InvCDF(successes + 1, trials - successes, 1 - alpha / 2);
        return new Proportion(successes, trials, (double)successes / trials, lower, upper);
    }

    /// <summary>
    /// The sample quantile by linear interpolation between order statistics (Hyndman and Fan's type 7, R's default):
    /// h = (n − 1)p, then x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]) over the sorted values.
    /// </summary>
    public static double Quantile(IReadOnlyList<double> sortedValues, double p)
    {
        if (sortedValues.Count == 0)
        {
            throw new ArgumentException("A quantile needs at least one value.", nameof(sortedValues));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(p, 1);
        var h = (sortedValues.Count - 1) * p;
        var below = (int)Math.Floor(h);
        var above = Math.Min(below + 1, sortedValues.Count - 1);
        return sortedValues[below] + (h - below) * (sortedValues[above] - sortedValues[below]);
    }
}
