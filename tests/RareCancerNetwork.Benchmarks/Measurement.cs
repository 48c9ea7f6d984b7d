using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RareCancerNetwork.Benchmarks;

/// <summary>One figure over several rounds: median, min and max, in its unit (higher is better for rates).</summary>
public sealed record Figure(string Name, string Unit, IReadOnlyList<double> Rounds)
{
    public double Median => Sorted[Sorted.Count / 2];
    public double Min => Sorted[0];
    public double Max => Sorted[^1];

    [JsonIgnore]
    private List<double> Sorted => [.. Rounds.Order()];
}

/// <summary>A scenario's figure beside the raw limit it is held to, and whether the data it moved arrived intact.</summary>
public sealed record ScenarioResult(string Scenario, Figure Product, Figure? Raw, string Target, bool Verified, string Notes)
{
    /// <summary>Product median over raw median (for latencies: raw over product, so higher is always better).</summary>
    public double? Ratio => Raw is null || Raw.Median == 0 || Product.Median == 0 ? null
        : Product.Unit == "ms" ? Raw.Median / Product.Median : Product.Median / Raw.Median;
}

/// <summary>Latencies of a closed-loop run, for percentiles.</summary>
public sealed class LatencyRecorder
{
    private readonly List<double> _milliseconds = [];

    public void Add(TimeSpan elapsed)
    {
        lock (_milliseconds)
        {
            _milliseconds.Add(elapsed.TotalMilliseconds);
        }
    }

    public int Count => _milliseconds.Count;

    public double Percentile(double p)
    {
        lock (_milliseconds)
        {
            if (_milliseconds.Count == 0)
            {
                return 0;
            }
            var sorted = _milliseconds.Order().ToList();
            return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];
        }
    }
}

/// <summary>Runs a call with a fixed number in flight for a while; returns completed calls per second and their latencies.</summary>
public static class ClosedLoop
{
    public static async Task<(double PerSecond, LatencyRecorder Latencies)> RunAsync(int inFlight, TimeSpan duration, Func<int, Task> call)
    {
        var latencies = new LatencyRecorder();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, inFlight).Select(worker => Task.Run(async () =>
        {
            var sequence = 0;
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await call(worker * 1_000_000 + sequence++);
                latencies.Add(Stopwatch.GetElapsedTime(started));
            }
        }));
        await Task.WhenAll(workers);
        return (latencies.Count / clock.Elapsed.TotalSeconds, latencies);
    }
}

/// <summary>The run's report: Markdown for docs/benchmarks.md and JSON for machines.</summary>
public sealed record Report(DateTimeOffset RanAt, string Machine, bool Quick, IReadOnlyList<Figure> RawLimits, IReadOnlyList<ScenarioResult> Scenarios)
{
    public bool AllVerified => Scenarios.All(s => s.Verified);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Run {RanAt:yyyy-MM-dd HH:mm} UTC{(Quick ? " (--quick: figures not meaningful)" : "")}; {Machine}.");
        text.AppendLine();
        text.AppendLine("Raw limits (same run, same TLS and process layout):");
        text.AppendLine();
        text.AppendLine("| raw limit | median | min | max |");
        text.AppendLine("|---|---|---|---|");
        foreach (var raw in RawLimits)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {raw.Name} | {Format(raw.Median, raw.Unit)} | {Format(raw.Min, raw.Unit)} | {Format(raw.Max, raw.Unit)} |");
        }
        text.AppendLine();
        text.AppendLine("| scenario | product (median; min–max) | raw limit | ratio | target | data verified | notes |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var s in Scenarios)
        {
            var ratio = s.Ratio is { } r ? r.ToString("P0", CultureInfo.InvariantCulture) : "—";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Scenario} | {Format(s.Product.Median, s.Product.Unit)} ({Format(s.Product.Min, s.Product.Unit)}–{Format(s.Product.Max, s.Product.Unit)}) | " +
                $"{(s.Raw is null ? "—" : $"{s.Raw.Name}: {Format(s.Raw.Median, s.Raw.Unit)}")} | {ratio} | {s.Target} | {(s.Verified ? "yes" : "**NO**")} | {s.Notes} |");
        }
        return text.ToString();
    }

    private static string Format(double value, string unit) => unit switch
    {
        "ms" => $"{value.ToString("F2", CultureInfo.InvariantCulture)} ms",
        _ => $"{value.ToString("N0", CultureInfo.InvariantCulture)} {unit}",
    };
}
