using System.CommandLine;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// The central institution's hotline against a running hub, for its counsellors signed in with 'login': record and amend their
/// centre's calls, find them by words in their notes, and answer "where can this patient be seen?" from the directory.
/// </summary>
internal static class HotlineCommands
{
    public static Command Create()
    {
        var session = DataManagerCommands.SessionOption();
        var hotline = new Command("hotline", "The central hotline's calls (central hotline counsellors, signed in with 'login').") { session };
        Task<int> WithClientAsync(ParseResult result, Func<HotlineService.HotlineServiceClient, Task> action) =>
            DataManagerCommands.WithClientAsync(result.GetValue(session)!, invoker => new HotlineService.HotlineServiceClient(invoker), action);

        var call = new HotlineCommandLine.CallOptions();
        var record = new Command("record", "Record a call taken by your centre.");
        record.WithOptions(call.All);
        record.SetAction((result, cancellationToken) => WithClientAsync(result, async client =>
        {
            var response = await client.RecordHotlineCallAsync(
                new() { CallId = Guid.CreateVersion7().ToString(), Entry = await call.EntryAsync(result, cancellationToken) }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine("[green]Call recorded[/]");
            HotlineCommandLine.Print(response.Call);
        }));

        var amendId = new Argument<string>("call-id");
        var amendOptions = new HotlineCommandLine.AmendOptions();
        var amend = new Command("amend", "Amend one of your centre's calls (a new revision).") { amendId };
        amend.WithOptions(amendOptions.All);
        amend.SetAction((result, cancellationToken) => WithClientAsync(result, async client =>
        {
            var current = (await client.GetHotlineCallAsync(new() { CallId = result.GetValue(amendId) }, cancellationToken: cancellationToken)).Call;
            var response = await client.AmendHotlineCallAsync(new()
            {
                CallId = current.CallId, ExpectedRevision = current.Revision, Entry = amendOptions.Apply(result, current),
            }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine("[green]Call amended[/]");
            HotlineCommandLine.Print(response.Call);
        }));

        var showId = new Argument<string>("call-id");
        var json = new Option<bool>("--json");
        var show = new Command("show", "Show one of your centre's calls.") { showId, json };
        show.SetAction((result, cancellationToken) => WithClientAsync(result, async client =>
        {
            var found = (await client.GetHotlineCallAsync(new() { CallId = result.GetValue(showId) }, cancellationToken: cancellationToken)).Call;
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(found);
                return;
            }
            HotlineCommandLine.Print(found);
        }));

        var searchOptions = new HotlineCommandLine.SearchOptions();
        var search = new Command("search", "Find your centre's calls, newest first.");
        search.WithOptions(searchOptions.All);
        search.SetAction((result, cancellationToken) => WithClientAsync(result, async client =>
        {
            var query = searchOptions.Request(result);
            var table = HotlineCommandLine.CallTable(withHubState: false);
            do
            {
                var page = await client.SearchHotlineCallsAsync(query, cancellationToken: cancellationToken);
                foreach (var found in page.Calls)
                {
                    HotlineCommandLine.AddRow(table, found);
                }
                query.PageToken = page.NextPageToken;
            }
            while (query.PageToken.Length > 0);
            AnsiConsole.Write(table);
        }));

        var suggestOptions = new HotlineCommandLine.SuggestOptions();
        var suggest = new Command("suggest", "Where can this patient be seen? Facilities treating the category, nearest first.");
        suggest.WithOptions(suggestOptions.All);
        suggest.SetAction((result, cancellationToken) => WithClientAsync(result, async client =>
            HotlineCommandLine.PrintSuggestions((await client.SuggestFacilitiesAsync(suggestOptions.Request(result), cancellationToken: cancellationToken)).Suggestions)));

        hotline.Subcommands.Add(record);
        hotline.Subcommands.Add(amend);
        hotline.Subcommands.Add(show);
        hotline.Subcommands.Add(search);
        hotline.Subcommands.Add(suggest);
        return hotline;
    }
}
