using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

[assembly: AssemblyFixture(typeof(RareCancerNetwork.IntegrationTests.Infrastructure.LogScanReport))]

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// Every log line the nodes of this test run write — in-process nodes at Information and above through a logger provider,
/// node processes through their output — scanned at the end of the run for every local patient id the run's spokes held
/// (read from their stores before their folders are deleted) and every secret the run used (client secrets, passwords,
/// access tokens). Logs must never carry patient-level data or secrets.
/// </summary>
public static class LogScan
{
    /// <summary>Shorter values would match by chance (a status code, a year); every id and secret of the run is longer.</summary>
    private const int ShortestValue = 6;

    private const int MostLines = 4_000_000;

    private static readonly ConcurrentQueue<string> Lines = new();
    private static readonly ConcurrentDictionary<string, string> SensitiveValues = new(StringComparer.Ordinal);
    private static int _lineCount;
    private static int _dropped;

    public static ILoggerProvider Provider { get; } = new CaptureProvider();

    public static void Capture(string line)
    {
        if (Interlocked.Increment(ref _lineCount) > MostLines)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        Lines.Enqueue(line);
    }

    /// <summary>A value no log may contain, and what it is (for the report, which never prints the value).</summary>
    public static void Sensitive(string? value, string kind)
    {
        if (value is { Length: >= ShortestValue })
        {
            SensitiveValues.TryAdd(value, kind);
        }
    }

    /// <summary>Every local patient id in the spoke stores under a folder (any table with a local_patient_id column).</summary>
    public static void HarvestLocalPatientIds(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }
        foreach (var database in Directory.EnumerateFiles(folder, "spoke.db", SearchOption.AllDirectories))
        {
            try
            {
                using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                connection.Open();
                var tables = new List<string>();
                using (var find = connection.CreateCommand())
                {
                    find.CommandText = "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'local_patient_id'";
                    using var reader = find.ExecuteReader();
                    while (reader.Read())
                    {
                        tables.Add(reader.GetString(0));
                    }
                }
                foreach (var table in tables)
                {
                    using var select = connection.CreateCommand();
                    select.CommandText = $"SELECT DISTINCT local_patient_id FROM \"{table}\" WHERE local_patient_id IS NOT NULL";
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                    {
                        Sensitive(reader.GetString(0), "local patient id");
                    }
                }
            }
            catch (SqliteException)
            {
                // Note: a store a test damaged on purpose, or one not migrated yet: nothing to harvest.
            }
        }
    }

    public sealed record Finding(string Kind, string Masked, string Where);

    public sealed record Result(int Lines, int Dropped, int Values, IReadOnlyList<Finding> Findings);

    public static Result Scan() => Scan(Lines, SensitiveValues, _dropped);

    /// <summary>The values registered so far (value → kind).</summary>
    public static IReadOnlyDictionary<string, string> KnownValues() => new Dictionary<string, string>(SensitiveValues, StringComparer.Ordinal);

    /// <summary>The lines against the values (value → kind).</summary>
    public static Result Scan(IReadOnlyCollection<string> lines, IReadOnlyDictionary<string, string> sensitiveValues, int dropped = 0)
    {
        var values = sensitiveValues.Keys.ToArray();
        var findings = new List<Finding>();
        if (values.Length > 0)
        {
            var search = SearchValues.Create(values, StringComparison.Ordinal);
            foreach (var line in lines)
            {
                var at = line.AsSpan().IndexOfAny(search);
                if (at < 0)
                {
                    continue;
                }
                var value = values.First(v => line.AsSpan(at).StartsWith(v, StringComparison.Ordinal));
                // The report names the kind and where, never the value itself: it is printed in CI's log.
                findings.Add(new Finding(sensitiveValues[value], value[..2] + new string('*', value.Length - 2),
                    line.Length > 120 ? line[..Math.Min(at, 100)] + "…" : line.Replace(value, "<redacted>", StringComparison.Ordinal)));
            }
        }
        return new Result(lines.Count, dropped, values.Length, findings);
    }

    private sealed class CaptureProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CaptureLogger(categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class CaptureLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // Structured values too: an exporter that ships logs as JSON would ship them.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            Capture($"{category}: {formatter(state, exception)} {values} {exception}");
        }
    }
}

/// <summary>
/// Scans the run's logs when the run ends. The report goes to RCN_LOG_SCAN_REPORT (CI fails on any FINDING line in it)
/// or beside the temp files; a finding also fails the run's cleanup.
/// </summary>
public sealed class LogScanReport : IDisposable
{
    public void Dispose()
    {
        var result = LogScan.Scan();
        var path = Environment.GetEnvironmentVariable("RCN_LOG_SCAN_REPORT") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetTempPath(), "rcn-log-scan.txt");
        var report = new List<string>
        {
            $"log scan {DateTimeOffset.UtcNow:u}: {result.Lines:N0} log lines against {result.Values:N0} local patient ids and secrets; " +
            $"{result.Findings.Count} finding(s){(result.Dropped > 0 ? $"; {result.Dropped:N0} lines beyond the limit not kept" : "")}",
        };
        report.AddRange(result.Findings.Take(50).Select(f => $"FINDING {f.Kind} {f.Masked} in: {f.Where}"));
        File.AppendAllLines(path, report);
        if (result.Findings.Count > 0)
        {
            throw new InvalidOperationException($"Logs of this run contain local patient ids or secrets; see {path}.");
        }
    }
}
