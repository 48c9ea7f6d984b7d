using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// The registry data manager's commands against a running hub, signed in with 'login': read the national
/// records, raise data queries on their fields, follow them, and see the open ones per facility.
/// </summary>
internal static class DataManagerCommands
{
    public static Command Create()
    {
        var session = SessionOption();
        var registry = new Command("registry", "The national registry's data management (registry data managers, signed in with 'login').") { session };
        Func<ParseResult, Func<RegistryDataManagementService.RegistryDataManagementServiceClient, Task>, Task<int>> withClientAsync =
            (result, action) => WithClientAsync(result.GetValue(session)!, invoker => new RegistryDataManagementService.RegistryDataManagementServiceClient(invoker), action);

        var facility = new Option<string?>("--facility") { Description = "Only this facility's (its code, e.g. CORE-004)" };
        var records = new Command("records", "List the national registry's records (current versions), in record-id order.") { facility };
        records.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var request = new ListNationalRegistryRecordsRequest { FacilityCode = result.GetValue(facility) ?? "", PageSize = ContractLimits.RegistryPageSize };
            // Ids are copied into other commands: never wrap them.
            var table = new Table().AddColumn(new TableColumn("record").NoWrap()).AddColumns("facility", "version", "diagnosis", "enrolled", "updated (JST)");
            var count = 0;
            do
            {
                var page = await client.ListNationalRegistryRecordsAsync(request, cancellationToken: cancellationToken);
                foreach (var r in page.Records)
                {
                    table.AddRow(r.RecordId, r.EnrollingFacilityCode, r.Version.ToString(CultureInfo.InvariantCulture),
                        Markup.Escape($"{r.Diagnosis.TopographyCode} {r.Diagnosis.MorphologyCode}"), r.EnrolmentDate, JapanTime.Format(r.UpdatedAt.ToDateTimeOffset()));
                    count++;
                }
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{count:N0} records");
        }));

        var recordId = new Argument<string>("record-id");
        var show = new Command("show", "Show a record's current version and the queries raised on it (as JSON).") { recordId };
        show.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
            Console.WriteLine(JsonFormatter.Default.Format(await client.GetNationalRegistryRecordAsync(new() { RecordId = result.GetValue(recordId) }, cancellationToken: cancellationToken)))));

        var raiseRecord = new Argument<string>("record-id");
        var field = new Option<string>("--field") { Description = "The field path within the record: ecog, follow_up.death_date, biomarkers[2].gene", Required = true };
        var question = new Option<string>("--question") { Description = "The question for the facility, e.g. \"ECOG missing\"", Required = true };
        var queryIdOption = new Option<string?>("--query-id") { Description = "The query's id (UUIDv7), to repeat a raise safely; generated when absent" };
        var raise = new Command("raise", "Raise a data query on one field of a record; the facility sees it at its spoke.") { raiseRecord, field, question, queryIdOption };
        raise.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var response = await client.RaiseDataQueryAsync(new()
            {
                QueryId = result.GetValue(queryIdOption) ?? Guid.CreateVersion7().ToString(),
                RecordId = result.GetValue(raiseRecord),
                Field = result.GetValue(field),
                Question = result.GetValue(question),
            }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]{(response.Duplicate ? "Already raised" : "Raised")}[/] query {response.Query.QueryId} on {Markup.Escape(response.Query.Field)} " +
                $"of record {response.Query.RecordId} (version {response.Query.RecordVersion}, {response.Query.FacilityCode})");
        }));

        var cancelId = new Argument<string>("query-id");
        var cancel = new Command("cancel", "Withdraw a query raised in error.") { cancelId };
        cancel.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var response = await client.CancelDataQueryAsync(new() { QueryId = result.GetValue(cancelId) }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]Withdrawn[/] query {response.Query.QueryId}");
        }));

        var queryFacility = new Option<string?>("--facility") { Description = "Only this facility's" };
        var queryRecord = new Option<string?>("--record") { Description = "Only this record's" };
        var all = new Option<bool>("--all") { Description = "Closed queries too (default: open ones only)" };
        var queries = new Command("queries", "List data queries, newest first.") { queryFacility, queryRecord, all };
        queries.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var request = new ListDataQueriesRequest
            {
                FacilityCode = result.GetValue(queryFacility) ?? "", RecordId = result.GetValue(queryRecord) ?? "", OpenOnly = !result.GetValue(all),
                PageSize = ContractLimits.RegistryPageSize,
            };
            var table = new Table().AddColumn(new TableColumn("query").NoWrap()).AddColumn(new TableColumn("record").NoWrap())
                .AddColumns("facility", "field", "question", "raised (JST)", "state");
            do
            {
                var page = await client.ListDataQueriesAsync(request, cancellationToken: cancellationToken);
                foreach (var q in page.Queries)
                {
                    var state = q.State == DataQueryState.Open ? "open"
                        : q.Resolution == DataQueryResolution.Confirmed ? $"closed: Confirmed ({q.AnswerComment})"
                        : q.Resolution == DataQueryResolution.Updated ? $"closed: Updated (version {q.AnsweredByVersion})"
                        : $"closed: {q.Resolution}";
                    table.AddRow(q.QueryId, q.RecordId, q.FacilityCode, Markup.Escape(q.Field), Markup.Escape(q.Question), JapanTime.Format(q.RaisedAt.ToDateTimeOffset()),
                        Markup.Escape(state));
                }
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            AnsiConsole.Write(table);
        }));

        var open = new Command("open-queries", "Open data queries per facility.");
        open.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var counts = await client.CountOpenDataQueriesAsync(new(), cancellationToken: cancellationToken);
            var table = new Table().AddColumns("facility", "name", "open", "oldest raised (JST)");
            foreach (var f in counts.Facilities)
            {
                table.AddRow(f.FacilityCode, Markup.Escape(f.FacilityName), f.OpenQueries.ToString("N0", CultureInfo.InvariantCulture), JapanTime.Format(f.OldestRaisedAt.ToDateTimeOffset()));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{counts.TotalOpenQueries:N0} open queries");
        }));

        registry.Subcommands.Add(records);
        registry.Subcommands.Add(show);
        registry.Subcommands.Add(raise);
        registry.Subcommands.Add(cancel);
        registry.Subcommands.Add(queries);
        registry.Subcommands.Add(open);

        var matchRecord = new Argument<string>("record-id");
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var match = new Command("match", "Match a record against the open trials of the catalogue: eligible arms and near-misses, with reasons.") { matchRecord, json };
        match.SetAction((result, cancellationToken) => WithClientAsync(result.GetValue(session)!, invoker => new TrialMatchingService.TrialMatchingServiceClient(invoker), async client =>
        {
            var response = await client.MatchNationalRegistryRecordAsync(new() { RecordId = result.GetValue(matchRecord) }, cancellationToken: cancellationToken);
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(response.Result);
            }
            else
            {
                DirectoryPrinter.MatchResult(response.Result);
            }
        }));
        registry.Subcommands.Add(match);
        return registry;
    }

    /// <summary>The signed-in person's session file ('login' writes it), for every command group of a person at the hub.</summary>
    internal static Option<FileInfo> SessionOption() => new("--session")
    {
        Description = "Signed-in session from 'login' (env RCN_SESSION)",
        DefaultValueFactory = _ => new FileInfo(Environment.GetEnvironmentVariable("RCN_SESSION") ?? ".rcn/session.json"),
        Recursive = true,
    };

    /// <summary>Runs <paramref name="action"/> with a client of the hub as the signed-in person; failures are shown, not thrown.</summary>
    internal static async Task<int> WithClientAsync<TClient>(FileInfo sessionFile, Func<CallInvoker, TClient> create, Func<TClient, Task> action)
    {
        try
        {
            var session = PersonSession.Load(sessionFile.FullName) ?? throw new InvalidDataException("Not signed in: run 'login' first.");
            using var channel = HubClientRegistration.CreateChannel(session.HubUrl, session.HubCaCertificatePath, session.AccessTokenAsync);
            await action(create(channel.CreateCallInvoker()));
            return 0;
        }
        catch (RpcException exception)
        {
            AnsiConsole.MarkupLine($"[red]{exception.StatusCode}[/]: {Markup.Escape(exception.Status.Detail)}");
            return 1;
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException
            or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
            return 1;
        }
    }
}
