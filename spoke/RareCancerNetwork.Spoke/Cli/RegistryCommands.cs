using System.CommandLine;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Hl7.Fhir.Serialization;
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
        return new Command("registry", "The registry's records at this spoke.")
        {
            command, Create(connect), Update(connect), Show(connect), List(connect), Resolve(connect), Withdraw(connect), Export(connect),
            Queries(connect), Confirm(connect), Match(connect),
        };
    }

    private static Command Match(Func<ParseResult, LocalApiConnection> connect)
    {
        var recordId = new Argument<string>("record-id");
        var json = JsonOption();
        var command = new Command("match",
            "Match a record against the open trials of this spoke's copy of the catalogue (works offline): eligible arms and near-misses, with reasons.") { recordId, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Directory.MatchRegistryRecordAsync(new() { RecordId = result.GetValue(recordId) }, cancellationToken: cancellationToken);
            if (result.GetValue(json))
            {
                Node.CommandLine.ConsoleOutput.WriteJson(response.Result);
                return;
            }
            Node.CommandLine.DirectoryPrinter.MatchResult(response.Result);
            DirectoryCommands.PrintCopy(response.Copy);
        }));
        return command;
    }

    private static Command Queries(Func<ParseResult, LocalApiConnection> connect)
    {
        var all = new Option<bool>("--all") { Description = "Closed queries too (default: open ones only)" };
        var record = new Option<string?>("--record") { Description = "Only this record's queries" };
        var json = JsonOption();
        var command = new Command("queries",
            "List the data queries the national registry raised on this facility's records, newest first. Answer one with 'registry confirm' " +
            "(the value is correct) or by updating the record's queried field.") { all, record, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var request = new ListLocalDataQueriesRequest { OpenOnly = !result.GetValue(all), RecordId = result.GetValue(record) ?? "", PageSize = ContractLimits.RegistryPageSize };
            var rows = new List<LocalDataQuery>();
            do
            {
                var page = await connection.Registry.ListLocalDataQueriesAsync(request, cancellationToken: cancellationToken);
                rows.AddRange(page.Queries);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            if (result.GetValue(json))
            {
                Node.CommandLine.ConsoleOutput.WriteJson(new ListLocalDataQueriesResponse { Queries = { rows } });
                return;
            }
            var table = new Table().AddColumns("query", "record", "patient", "field", "question", "raised (JST)", "state");
            foreach (var row in rows)
            {
                var q = row.Query;
                var state = q.State == DataQueryState.Closed ? $"closed: {q.Resolution}"
                    : row.AnswerPending ? "open, answer on its way"
                    : row.AnswerError.Length > 0 ? $"open, answer refused: {row.AnswerError}"
                    : "[yellow]open[/]";
                table.AddRow(Markup.Escape(q.QueryId), Markup.Escape(q.RecordId), Markup.Escape(row.LocalPatientId), Markup.Escape(q.Field), Markup.Escape(q.Question),
                    Node.Validation.JapanTime.Format(q.RaisedAt.ToDateTimeOffset()), state.StartsWith('[') ? state : Markup.Escape(state));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{rows.Count} {(result.GetValue(all) ? "queries" : "open queries")}");
        }));
        return command;
    }

    private static Command Confirm(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("query-id");
        var comment = new Option<string>("--comment") { Description = "Why the value is correct (e.g. how it was checked)", Required = true };
        var command = new Command("confirm", "Answer a data query: the queried value is correct as it stands. The hub closes the query.") { id, comment };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Registry.ConfirmDataQueryValueAsync(new() { QueryId = result.GetValue(id), Comment = result.GetValue(comment) },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine(response.Query.Query.State == DataQueryState.Closed
                ? $"[green]Closed[/] ({response.Query.Query.Resolution})"
                : "[green]Answered[/]: the answer is queued for the hub, which closes the query ('registry queries --all' shows it).");
        }));
        return command;
    }

    private static readonly Google.Protobuf.JsonParser Parser = new(Google.Protobuf.JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON (proto field names) instead of text, for scripts" };

    private static Command Create(Func<ParseResult, LocalApiConnection> connect)
    {
        var file = new Option<FileInfo>("--file") { Description = "CreateRegistryRecordRequest as JSON (proto field names)", Required = true };
        var json = JsonOption();
        var command = new Command("create", "Enrol a patient from a JSON file. A missing record_id is generated (UUIDv7); running the same file again is safe.") { file, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var request = Parser.Parse<CreateRegistryRecordRequest>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            request.Record ??= new RegistryRecord();
            if (request.Record.RecordId.Length == 0)
            {
                request.Record.RecordId = Guid.CreateVersion7().ToString("D");
            }
            request.Record.Version = request.Record.Version == 0 ? 1 : request.Record.Version;
            await using var connection = connect(result);
            var response = await connection.Registry.CreateRegistryRecordAsync(request, cancellationToken: cancellationToken);
            Print(response.Record, result.GetValue(json), response.Duplicate ? "Already enrolled" : "Enrolled");
        }));
        return command;
    }

    private static Command Update(Func<ParseResult, LocalApiConnection> connect)
    {
        var file = new Option<FileInfo>("--file") { Description = "The new version as a RegistryRecord in JSON: version = the version it replaces + 1", Required = true };
        var json = JsonOption();
        var command = new Command("update", "Store a new version of a record (refused when someone changed it first, or while it is in conflict).") { file, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var record = Parser.Parse<RegistryRecord>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            await using var connection = connect(result);
            var response = await connection.Registry.UpdateRegistryRecordAsync(new() { Record = record }, cancellationToken: cancellationToken);
            Print(response.Record, result.GetValue(json), "Stored");
        }));
        return command;
    }

    private static Command Show(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("record-id");
        var json = JsonOption();
        var command = new Command("show", "Show a record, where it stands with the hub and, in a conflict, both versions and the fields that differ.") { id, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Registry.GetRegistryRecordAsync(new() { RecordId = result.GetValue(id) }, cancellationToken: cancellationToken);
            Print(response.Record, result.GetValue(json), null);
        }));
        return command;
    }

    private static Command List(Func<ParseResult, LocalApiConnection> connect)
    {
        var conflicts = new Option<bool>("--conflicts") { Description = "Only the records in conflict with the hub" };
        var json = JsonOption();
        var command = new Command("list", "List this facility's registry records, most recently changed first.") { conflicts, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var request = new ListRegistryRecordsRequest { PageSize = ContractLimits.RegistryPageSize, ConflictsOnly = result.GetValue(conflicts) };
            var rows = new List<LocalRegistryRecord>();
            do
            {
                var page = await connection.Registry.ListRegistryRecordsAsync(request, cancellationToken: cancellationToken);
                rows.AddRange(page.Records);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            if (result.GetValue(json))
            {
                Node.CommandLine.ConsoleOutput.WriteJson(new ListRegistryRecordsResponse { Records = { rows } });
                return;
            }
            var table = new Table().AddColumns("record", "patient", "version", "diagnosis", "state", "updated (JST)");
            foreach (var row in rows)
            {
                table.AddRow(Markup.Escape(row.Record.RecordId), Markup.Escape(row.LocalPatientId), row.Record.Version.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape($"{row.Record.Diagnosis.TopographyCode} {row.Record.Diagnosis.MorphologyCode}"), State(row.SyncState),
                    Node.Validation.JapanTime.Format(row.Record.UpdatedAt.ToDateTimeOffset()));
            }
            AnsiConsole.Write(table);
        }));
        return command;
    }

    private static Command Resolve(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("record-id");
        var keep = new Option<bool>("--keep-spoke") { Description = "Keep this spoke's content, as a new version on top of the hub's" };
        var take = new Option<bool>("--take-hub") { Description = "Take the hub's version as this spoke's own" };
        var hubVersion = new Option<long>("--hub-version") { Description = "The hub version you looked at ('registry show')", Required = true };
        var command = new Command("resolve", "Settle a conflict with the hub; exactly one of --keep-spoke and --take-hub.") { id, keep, take, hubVersion };
        command.Validators.Add(result =>
        {
            if (result.GetValue(keep) == result.GetValue(take))
            {
                result.AddError("Choose exactly one of --keep-spoke and --take-hub.");
            }
        });
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Registry.ResolveRegistryConflictAsync(new()
            {
                RecordId = result.GetValue(id),
                Resolution = result.GetValue(keep) ? ConflictResolution.KeepSpoke : ConflictResolution.TakeHub,
                HubVersion = result.GetValue(hubVersion),
            }, cancellationToken: cancellationToken);
            Print(response.Record, json: false, "Resolved");
        }));
        return command;
    }

    private static Command Withdraw(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("record-id");
        var on = new Option<string>("--on") { Description = "The date the patient withdrew consent, YYYY-MM-DD", Required = true };
        var command = new Command("withdraw", "Record the patient's withdrawal of consent: the record is deleted here and at the hub, which keeps only a tombstone.") { id, on };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Registry.WithdrawRegistryConsentAsync(new() { RecordId = result.GetValue(id), WithdrawnOn = result.GetValue(on) },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]Withdrawn[/] on {Markup.Escape(response.WithdrawnOn)} (recorded by {Markup.Escape(response.RecordedBy)}): " +
                "deleted at the spoke; the hub is told and keeps only a tombstone.");
        }));
        return command;
    }

    private static Command Export(Func<ParseResult, LocalApiConnection> connect)
    {
        var output = new Option<FileInfo>("--out") { Description = "Where to write the FHIR R4 Bundle (JSON)", Required = true };
        var command = new Command("export", "Export this facility's records as one FHIR R4 Bundle aligned with mCODE.") { output };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var merged = new Hl7.Fhir.Model.Bundle { Type = Hl7.Fhir.Model.Bundle.BundleType.Collection, Timestamp = DateTimeOffset.UtcNow, Id = Guid.CreateVersion7().ToString() };
            var request = new ExportRegistryRecordsRequest { PageSize = ContractLimits.RegistryPageSize };
            var records = 0;
            do
            {
                var page = await connection.Registry.ExportRegistryRecordsAsync(request, cancellationToken: cancellationToken);
                merged.Entry.AddRange(new FhirJsonDeserializer().Deserialize<Hl7.Fhir.Model.Bundle>(page.FhirBundleJson.ToStringUtf8()).Entry);
                records += page.RecordCount;
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            await File.WriteAllTextAsync(result.GetValue(output)!.FullName, Node.Fhir.RegistryFhirExport.ToJson(merged), cancellationToken);
            AnsiConsole.MarkupLine($"[green]Exported[/] {records:N0} records ({merged.Entry.Count:N0} FHIR resources) to {Markup.Escape(result.GetValue(output)!.FullName)}");
        }));
        return command;
    }

    private static string State(RegistrySyncState state) => state switch
    {
        RegistrySyncState.Conflict => "[red]conflict[/]",
        RegistrySyncState.Rejected => "[red]rejected[/]",
        RegistrySyncState.Pending => "[yellow]pending[/]",
        RegistrySyncState.Parked => "[red]parked[/] ('spoke outbox resend')",
        RegistrySyncState.LocalOnly => "local only",
        _ => Node.CommandLine.ProtoEnumNames.Name(state),
    };

    private static void Print(LocalRegistryRecord record, bool json, string? verb)
    {
        if (json)
        {
            Node.CommandLine.ConsoleOutput.WriteJson(record);
            return;
        }
        if (verb is not null)
        {
            AnsiConsole.MarkupLine($"[green]{verb}[/] [bold]{Markup.Escape(record.Record.RecordId)}[/] version {record.Record.Version}.");
        }
        AnsiConsole.MarkupLine($"patient {Markup.Escape(record.LocalPatientId)}, {Markup.Escape(record.Record.Diagnosis?.TopographyCode ?? "")} " +
            $"{Markup.Escape(record.Record.Diagnosis?.MorphologyCode ?? "")}, state {State(record.SyncState)}");
        if (record.SyncError.Length > 0)
        {
            AnsiConsole.MarkupLine($"hub: {Markup.Escape(record.SyncError)}");
        }
        if (record.SyncState == RegistrySyncState.Conflict)
        {
            AnsiConsole.MarkupLine($"[red]In conflict[/] with the hub's version {record.HubVersion.Version}; the fields that differ: " +
                Markup.Escape(string.Join(", ", record.DifferingFields)));
            AnsiConsole.MarkupLine($"Settle it: spoke registry resolve {Markup.Escape(record.Record.RecordId)} --keep-spoke|--take-hub --hub-version {record.HubVersion.Version}");
        }
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
