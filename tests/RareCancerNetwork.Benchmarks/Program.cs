using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Benchmarks;
using Spectre.Console;

// The subscribers' process of the many-spokes scenario (started by the scenario itself).
if (args is ["feed-subscribers", var subscriberManifest, var subscriberHub, var subscriberCa])
{
    return await ManySpokes.SubscribeAsync(subscriberManifest, subscriberHub, subscriberCa);
}

var quick = new Option<bool>("--quick") { Description = "Every scenario briefly, to check the program works (CI); the figures mean nothing" };
var records = new Option<int>("--records") { Description = "Registry records for the bulk sync (in 10 rounds)", DefaultValueFactory = _ => 1_000_000 };
var slideSize = new Option<int>("--slide-mib") { Description = "Size of each slide image in MiB", DefaultValueFactory = _ => 4096 };
var slideRounds = new Option<int>("--slide-rounds") { Description = "Slide images sent, one per round (each leg's figure is their median)", DefaultValueFactory = _ => 1 };
var spokeCount = new Option<int>("--spokes") { Description = "Spokes with open event feeds in the many-spokes scenario", DefaultValueFactory = _ => 500 };
var postgresRecords = new Option<int>("--postgres-records")
{
    Description = "Registry records for the bulk sync with the hub on PostgreSQL (in 10 rounds)", DefaultValueFactory = _ => 100_000,
};
var catchUp = new Option<int>("--catch-up-records") { Description = "Registry records queued while the hub is down", DefaultValueFactory = _ => 100_000 };
var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON here" };
var docs = new Option<FileInfo?>("--docs") { Description = "Replace the results section of this Markdown file (docs/benchmarks.md)" };
var diagnostics = new Option<bool>("--diagnostics") { Description = "Also measure the hub's registry store alone, without RPC (where a delivery's time goes)" };
var only = new Option<string[]>("--only")
{
    Description = "Run only these product scenarios: reads, submissions, sync, statistics (after sync), catch-up, slides, spokes, postgres (the raw limits always run)",
    AllowMultipleArgumentsPerToken = true,
};
var root = new RootCommand("Measures the network against the machine's raw limits, in one run. Exit code 1 when a scenario lost or duplicated data.")
{
    quick, records, catchUp, slideSize, slideRounds, spokeCount, postgresRecords, json, docs, only, diagnostics,
};
root.SetAction(async (result, cancellationToken) =>
{
    var isQuick = result.GetValue(quick);
    var selected = result.GetValue(only) is { Length: > 0 } chosen ? chosen.ToHashSet(StringComparer.OrdinalIgnoreCase) : null;
    bool Runs(string scenario) => selected is null || selected.Contains(scenario);
    var recordCount = isQuick ? 2_000 : result.GetValue(records);
    var catchUpCount = isQuick ? 1_000 : result.GetValue(catchUp);
    var rounds = isQuick ? 1 : 3;
    // Rounds of 3 s are hundreds of thousands of echoes and tens of thousands of commits: plenty for a median and a p99,
    // and they keep a full run under 10 minutes on 2 cores.
    var shortRun = isQuick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(3);
    // Submission rounds are short: each round then waits for everything it acknowledged to reach the hub, which takes far
    // longer than the round (10,000 submissions in 2 s; at 64 in flight that is still thousands of latencies per round).
    var submissionRun = isQuick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(2);
    void Progress(string line) => AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(line)}");

    var folder = Path.Combine(Path.GetTempPath(), $"rcn-bench-{Guid.CreateVersion7():N}");
    Directory.CreateDirectory(folder);
    try
    {
        var raw = new List<Figure>();
        var scenarios = new List<ScenarioResult>();
        await using var network = await BenchmarkNetwork.StartAsync(Path.Combine(folder, "network"));
        Progress($"hub {network.HubUrl}, spoke {network.SpokeUrl}");

        // Raw limits first, on an idle machine. The echo is warmed up once, unmeasured: its first seconds (JIT and its tiers,
        // TLS sessions, HTTP/2 windows) ran at a fifth to a third of its speed and made the raw limit, and so every ratio to
        // it, a matter of luck. 3 s were not enough (rounds at 16,000-55,000 calls/s against 80,000 once warm).
        await RawLimits.EchoAsync(Path.Combine(network.HubFolder, "tls"), 64, isQuick ? shortRun : TimeSpan.FromSeconds(10));
        var (echoRates, echoP99s) = (new List<double>(), new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            var (rate, latencies) = await RawLimits.EchoAsync(Path.Combine(network.HubFolder, "tls"), 64, shortRun);
            echoRates.Add(rate);
            echoP99s.Add(latencies.Percentile(99));
            Progress($"raw echo round {round + 1}: {rate:N0}/s, p99 {latencies.Percentile(99):F1} ms");
        }
        var echo = new Figure("raw gRPC unary echo, 64 in flight", "calls/s", echoRates);
        var echoP99 = new Figure("raw echo p99", "ms", echoP99s);
        raw.Add(echo);
        raw.Add(echoP99);
        var syncRounds = isQuick ? 2 : 10;
        var batchedRates = await RawLimits.BatchedRegistryInsertsAsync(Path.Combine(folder, "raw"), recordCount, syncRounds);
        Progress($"raw batched registry inserts: {string.Join(", ", batchedRates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} records/s by round");
        var batched = new Figure($"raw SQLite registry inserts, 1,000 records per transaction (FULL), {recordCount:N0} in {syncRounds} rounds", "records/s", batchedRates);
        var batchedAtFill = new Figure("raw inserts, last round (highest fill)", "records/s", [batchedRates[^1]]);
        raw.Add(batched);
        raw.Add(batchedAtFill);
        var singleRates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            singleRates.Add(await RawLimits.SingleRowCommitsAsync(Path.Combine(folder, "raw"), shortRun));
            Progress($"raw single-row commits round {round + 1}: {singleRates[^1]:N0}/s");
        }
        var single = new Figure("raw SQLite one row per transaction (FULL)", "commits/s", singleRates);
        if (result.GetValue(diagnostics))
        {
            // Not a product figure (no RPC, no spoke): where a delivery's time goes, beside the raw insert at the same size.
            var storeCount = isQuick ? 2_000 : 50_000;
            raw.Add(new Figure($"diagnostic: the hub's registry store alone, no RPC, {storeCount:N0} records", "records/s",
                [await StoreDiagnostics.HubStoreAloneAsync(Path.Combine(folder, "diagnostics"), storeCount)]));
            raw.Add(new Figure($"diagnostic: raw inserts into an empty database, {storeCount:N0} records", "records/s",
                await RawLimits.BatchedRegistryInsertsAsync(Path.Combine(folder, "diagnostics"), storeCount, 1)));
        }
        raw.Add(single);
        var slideBytes = (isQuick ? 32L : result.GetValue(slideSize)) * 1024 * 1024;
        var streamRates = new List<double>();
        var slideRoundCount = isQuick ? 1 : Math.Max(1, result.GetValue(slideRounds));
        for (var round = 0; round < slideRoundCount; round++)
        {
            streamRates.Add(await RawLimits.StreamToDiskAsync(Path.Combine(network.HubFolder, "tls"), Path.Combine(folder, "raw"), slideBytes));
            Progress($"raw stream to disk round {round + 1}: {streamRates[^1]:N0} MiB/s");
        }
        var stream = new Figure($"raw gRPC client stream into a file, 1 MiB messages, {slideBytes / (1024 * 1024):N0} MiB", "MiB/s", streamRates);
        raw.Add(stream);

        var product = new Scenarios(network, Progress);
        if (Runs("reads"))
        {
            var (readRate, readP99) = await product.DirectoryReadsAsync(rounds, shortRun);
            scenarios.Add(new ScenarioResult("authenticated read, no patient rows (GetFacility), 64 in flight", readRate, echo, "≥ 50% of raw echo", true, ""));
            scenarios.Add(new ScenarioResult("the same, p99 latency", readP99, echoP99, "≤ 2× raw p99 (ratio ≥ 50%)", true, ""));
        }

        if (Runs("submissions"))
        {
            var (submitRate, submitP99, delivered, submitVerified) = await product.SubmissionsAsync(rounds, submissionRun);
            scenarios.Add(new ScenarioResult("consultation submissions, 64 in flight, each its own durable transaction", submitRate, single, "≥ 50% of raw one-row commits",
                submitVerified, $"p99 {submitP99.Median.ToString("F1", CultureInfo.InvariantCulture)} ms (target ≤ 5 ms)"));
            scenarios.Add(new ScenarioResult("the same, delivered to the hub end to end", delivered, single, "(orientation)", submitVerified,
                "every acknowledged submission at the hub exactly once"));
        }

        Figure? syncRate = null;
        if (Runs("sync"))
        {
            (syncRate, var importRate, var syncVerified) = await product.BulkRegistrySyncAsync(recordCount, syncRounds);
            scenarios.Add(new ScenarioResult($"bulk registry sync spoke → hub, {recordCount:N0} records", syncRate, batched, "≥ 70% of raw batched inserts", syncVerified,
                $"import at the spoke alone: {importRate.Median:N0} records/s; every record at the hub exactly once"));
            var lastRound = new Figure("bulk sync, last round (highest fill)", "records/s", [syncRate.Rounds[^1]]);
            scenarios.Add(new ScenarioResult("the same, last round (highest fill)", lastRound, batchedAtFill, "≥ 70% of raw at the same fill", syncVerified, ""));
        }

        if (Runs("statistics") && syncRate is not null)
        {
            var groupBy = new Figure("raw SQL GROUP BYs behind the same figures, on the hub's rows, per set", "ms",
                await RawLimits.StatisticsGroupByAsync(Path.Combine(network.HubFolder, "hub.db"), rounds));
            raw.Add(groupBy);
            var (statisticsTime, statisticsVerified) = await product.StatisticsQuerySetAsync(rounds);
            scenarios.Add(new ScenarioResult($"national statistics query set over {recordCount:N0} registry records", statisticsTime, groupBy,
                "≤ 1.5× the raw GROUP BY time (ratio = raw time / product time ≥ 67%)", statisticsVerified, "released figures (protection on); the enrolment table counts every consented record"));
        }

        if (Runs("catch-up"))
        {
            var (catchUpRate, catchUpVerified) = await product.CatchUpAsync(catchUpCount);
            scenarios.Add(new ScenarioResult($"catch-up: {catchUpCount:N0} records queued while the hub was down", catchUpRate, syncRate, "≥ 70% of the bulk sync rate",
                catchUpVerified, "the spoke's outbox drained into the hub"));
        }

        if (Runs("slides"))
        {
            var (upload, toHub, download, growth, slidesVerified) = await product.SlidesAsync(slideBytes, slideRoundCount, Path.Combine(folder, "slides"));
            const string note = "every chunk and the whole file checked against SHA-256 at each end";
            scenarios.Add(new ScenarioResult($"slide image upload to the spoke, {slideBytes / (1024 * 1024):N0} MiB", upload, stream, "≥ 50% of the raw stream", slidesVerified, note));
            scenarios.Add(new ScenarioResult("the same slide sent on to the hub by the spoke", toHub, stream, "≥ 50% of the raw stream", slidesVerified, "resumable; stored once"));
            scenarios.Add(new ScenarioResult("the same slide downloaded by the expert", download, stream, "≥ 50% of the raw stream", slidesVerified, "byte-exact"));
            scenarios.Add(new ScenarioResult("the same, process memory growth", growth, null, "≤ 64 MiB (absolute)", slidesVerified,
                "the benchmark process (client, spoke and hub) at its highest while the file crossed all three legs, less just before"));
        }

        if (Runs("spokes"))
        {
            var spokes = isQuick ? 20 : result.GetValue(spokeCount);
            var many = await new ManySpokes(network, Progress).RunAsync(spokes, isQuick ? 2 : 10, Path.Combine(folder, "spokes"));
            scenarios.Add(new ScenarioResult($"{spokes:N0} spokes with open event feeds: a directory change reaches every spoke", many.LatencyP99, null,
                "p99 ≤ 100 ms (absolute)", many.Verified, "from the start of the change to the event's arrival at each subscriber; every spoke got it once"));
            scenarios.Add(new ScenarioResult("the same, hub memory", many.MemoryMiB, null, "≤ 1,024 MiB (absolute)", many.Verified,
                $"the benchmark process: the hub and its one full spoke (the subscribers run in a second process); {many.MemoryBeforeMiB:N0} MiB before the feeds opened"));
        }

        if (Runs("postgres"))
        {
            await RunOnPostgresAsync(folder, isQuick ? 2_000 : result.GetValue(postgresRecords), syncRounds, rounds, shortRun, submissionRun, raw, scenarios, Progress);
        }

        var machine = $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0):F1} GiB memory, " +
            $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}; hub and spoke in this process on 127.0.0.1 with TLS, SQLite (WAL, synchronous=FULL); " +
            $"process peak working set {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024):N0} MiB";
        var report = new Report(DateTimeOffset.UtcNow, machine, isQuick, raw, scenarios);
        AnsiConsole.WriteLine();
        Console.WriteLine(report.ToMarkdown());
        if (result.GetValue(json) is { } jsonFile)
        {
            await File.WriteAllTextAsync(jsonFile.FullName, report.ToJson(), cancellationToken);
        }
        if (result.GetValue(docs) is { } docsFile)
        {
            await ResultsSection.ReplaceAsync(docsFile.FullName, report.ToMarkdown(), cancellationToken);
        }
        if (!report.AllVerified)
        {
            AnsiConsole.MarkupLine("[red]A scenario lost or duplicated data: the run fails, whatever its speed.[/]");
            return 1;
        }
        return 0;
    }
    finally
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still closing; the temp cleaner takes the rest.
        }
    }
});
return await root.Parse(args).InvokeAsync();

// The hub on PostgreSQL (a durable throwaway cluster on this machine) for the bulk sync and single submissions, beside its
// own raw limits: PostgreSQL's batched inserts of the hub's registry rows and one row per transaction, in the same run.
static async Task RunOnPostgresAsync(string folder, int records, int syncRounds, int rounds, TimeSpan shortRun, TimeSpan submissionRun, List<Figure> raw, List<ScenarioResult> scenarios,
    Action<string> progress)
{
    if (RareCancerNetwork.Tests.Shared.PostgresCluster.FindBinaries() is not { } binaries)
    {
        progress("PostgreSQL is not installed (apt-get install postgresql): the hub-on-PostgreSQL scenarios are left out of this run.");
        return;
    }
    await using var cluster = await RareCancerNetwork.Tests.Shared.PostgresCluster.StartAsync(binaries, durable: true);
    var batched = new Figure($"raw PostgreSQL registry inserts, 1,000 records per transaction (durable), {records:N0} in {syncRounds} rounds", "records/s",
        await RawPostgres.BatchedRegistryInsertsAsync(await cluster.CreateDatabaseAsync(), records, syncRounds));
    progress($"raw PostgreSQL batched inserts: {batched.Median:N0} records/s");
    var singles = new List<double>();
    for (var round = 0; round < rounds; round++)
    {
        singles.Add(await RawPostgres.SingleRowCommitsAsync(await cluster.CreateDatabaseAsync(), shortRun));
    }
    var single = new Figure("raw PostgreSQL one row per transaction (durable)", "commits/s", singles);
    progress($"raw PostgreSQL single-row commits: {single.Median:N0}/s");
    raw.Add(batched);
    raw.Add(single);
    var store = new Dictionary<string, string?>
    {
        ["Hub:Storage:Provider"] = "Postgres",
        ["Hub:Storage:ConnectionString"] = await cluster.CreateDatabaseAsync(),
    };
    await using var network = await BenchmarkNetwork.StartAsync(Path.Combine(folder, "network-postgres"), store);
    var product = new Scenarios(network, progress);
    var (syncRate, importRate, syncVerified) = await product.BulkRegistrySyncAsync(records, syncRounds);
    scenarios.Add(new ScenarioResult($"hub on PostgreSQL: bulk registry sync spoke → hub, {records:N0} records", syncRate, batched,
        "reported beside SQLite (PostgreSQL's own raw limit)", syncVerified, $"import at the spoke alone: {importRate.Median:N0} records/s; every record at the hub exactly once"));
    // Half as long as on SQLite: each round waits for its end-to-end delivery, several times slower on PostgreSQL. No
    // warm-up round (14 s of waiting): the process has run the spoke's and the interceptors' code by now.
    var (submitRate, submitP99, delivered, submitVerified) = await product.SubmissionsAsync(rounds, submissionRun / 2, warmUp: false);
    scenarios.Add(new ScenarioResult("hub on PostgreSQL: consultation submissions, 64 in flight", submitRate, single, "reported beside SQLite", submitVerified,
        $"acknowledged at the spoke (its own SQLite store); p99 {submitP99.Median.ToString("F1", CultureInfo.InvariantCulture)} ms"));
    scenarios.Add(new ScenarioResult("hub on PostgreSQL: the same, delivered to the hub end to end", delivered, single, "reported beside SQLite", submitVerified,
        "every acknowledged submission at the hub exactly once"));
}

/// <summary>The generated part of docs/benchmarks.md, between its two markers.</summary>
internal static class ResultsSection
{
    private const string Start = "<!-- results: written by the benchmark program -->";
    private const string End = "<!-- end of results -->";

    public static async Task ReplaceAsync(string path, string markdown, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(path, cancellationToken);
        var (start, end) = (text.IndexOf(Start, StringComparison.Ordinal), text.IndexOf(End, StringComparison.Ordinal));
        if (start < 0 || end < start)
        {
            throw new InvalidDataException($"{path} has no '{Start}' … '{End}' section.");
        }
        await File.WriteAllTextAsync(path, text[..(start + Start.Length)] + "\n\n" + markdown + "\n" + text[end..], cancellationToken);
    }
}
