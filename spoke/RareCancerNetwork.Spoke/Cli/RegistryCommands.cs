using System.CommandLine;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Polly;
using Polly.Retry;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Registry;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>The registry's command line: bulk import of a site's records from a spreadsheet's CSV.</summary>
internal static class RegistryCommands
{
    public static Command Import(Func<ParseResult, LocalApiConnection> connect)
    {
        var file = new Option<FileInfo>("--file") { Description = "CSV in the layout of docs/registry-import.md", Required = true };
        var encoding = new Option<string>("--encoding")
        {
            Description = "auto (UTF-8 with or without BOM, else Shift_JIS), utf-8 or shift_jis",
            DefaultValueFactory = _ => "auto",
        };
        var report = new Option<FileInfo?>("--rejected") { Description = "Where to write the rejected rows (default: <file>.rejected.csv)" };
        var command = new Command("import",
            "Import registry records from a CSV file. Every row is checked; the valid ones are stored in batches and the rejected ones " +
            "listed with row, column and reason. Importing the same file again creates no duplicates.") { file, encoding, report };
        command.SetAction(async (result, cancellationToken) =>
        {
            var path = result.GetValue(file)!;
            List<CsvRow> rows;
            string encodingName;
            try
            {
                var (text, name) = RegistryCsv.Decode(await File.ReadAllBytesAsync(path.FullName, cancellationToken), result.GetValue(encoding)!);
                encodingName = name;
                rows = RegistryCsv.Read(text).ToList();
            }
            catch (Exception exception) when (exception is IOException or InvalidDataException or ArgumentException or DecoderFallbackException
                or CsvHelper.CsvHelperException)
            {
                AnsiConsole.MarkupLine($"[red]Nothing imported[/]: {Markup.Escape(exception.Message)}");
                return 2;
            }
            var problems = rows.SelectMany(r => r.Problems).ToList();
            var readable = rows.Where(r => r.Record is not null).ToList();
            var (created, already) = (0, 0);
            await using (var connection = connect(result))
            {
                var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
                {
                    // The same batch again is safe: records already held are recognised.
                    ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted),
                    MaxRetryAttempts = 5,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromSeconds(1),
                }).Build();
                await AnsiConsole.Progress().AutoClear(false).StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Importing {readable.Count:N0} of {rows.Count:N0} rows ({encodingName})", maxValue: Math.Max(1, readable.Count));
                    foreach (var batch in readable.Chunk(ContractLimits.RegistryRecordsPerDelivery))
                    {
                        var request = new ImportRegistryRecordsRequest();
                        request.Records.AddRange(batch.Select(r => r.Record!));
                        var response = await retry.ExecuteAsync(async token =>
                            await connection.Registry.ImportRegistryRecordsAsync(request, deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: token), cancellationToken);
                        for (var i = 0; i < batch.Length; i++)
                        {
                            var outcome = response.Results[i];
                            switch (outcome.Outcome)
                            {
                                case ImportOutcome.Created:
                                    created++;
                                    break;
                                case ImportOutcome.AlreadyImported:
                                    already++;
                                    break;
                                default:
                                    problems.AddRange(outcome.Problems.Select(p =>
                                    {
                                        var (column, detail) = RegistryCsv.ColumnOf(p.Field);
                                        return new CsvProblem(batch[i].Row, column, detail + p.Description);
                                    }));
                                    break;
                            }
                        }
                        task.Increment(batch.Length);
                    }
                });
            }
            var rejectedRows = problems.Select(p => p.Row).Distinct().Count();
            AnsiConsole.MarkupLine($"{rows.Count:N0} rows: [green]{created:N0} imported[/], {already:N0} already imported, " +
                $"{(rejectedRows > 0 ? "[red]" : "")}{rejectedRows:N0} rejected{(rejectedRows > 0 ? "[/]" : "")}.");
            if (rejectedRows == 0)
            {
                return 0;
            }
            var reportPath = result.GetValue(report)?.FullName ?? path.FullName + ".rejected.csv";
            await WriteReportAsync(reportPath, problems.OrderBy(p => p.Row), cancellationToken);
            AnsiConsole.MarkupLine($"Rejected rows, with column and reason: {Markup.Escape(reportPath)}");
            return 1;
        });
        return new Command("registry", "The registry's records at this spoke.") { command };
    }

    /// <summary>UTF-8 with a BOM, so spreadsheet software opens the Japanese reasons correctly.</summary>
    private static async Task WriteReportAsync(string path, IEnumerable<CsvProblem> problems, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        await using var csv = new CsvHelper.CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.WriteField("row");
        csv.WriteField("column");
        csv.WriteField("reason");
        await csv.NextRecordAsync();
        foreach (var problem in problems)
        {
            cancellationToken.ThrowIfCancellationRequested();
            csv.WriteField(problem.Row);
            csv.WriteField(problem.Column);
            csv.WriteField(problem.Reason);
            await csv.NextRecordAsync();
        }
    }
}
