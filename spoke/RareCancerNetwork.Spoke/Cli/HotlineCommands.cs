using System.CommandLine;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// The hotline from the command line, for the centre's counsellors: record a call (and whom to call back), amend it after the call
/// back, find past calls by words in their notes, answer "where can this patient be seen?", and refer in one step.
/// </summary>
internal static class HotlineCommands
{
    public static Command Create(Func<ParseResult, LocalApiConnection> connect)
    {
        var hotline = new Command("hotline", "The rare-cancer hotline's calls taken at this centre.");
        hotline.Subcommands.Add(Record(connect));
        hotline.Subcommands.Add(Amend(connect));
        hotline.Subcommands.Add(Show(connect));
        hotline.Subcommands.Add(Search(connect));
        hotline.Subcommands.Add(Suggest(connect));
        hotline.Subcommands.Add(Refer(connect));
        return hotline;
    }

    private static Command Record(Func<ParseResult, LocalApiConnection> connect)
    {
        var call = new HotlineCommandLine.CallOptions();
        var name = new Option<string?>("--callback-name") { Description = "Whom to call back (stays at this centre)" };
        var phone = new Option<string?>("--callback-phone") { Description = "The number to call back, with --outcome call_back (stays at this centre)" };
        var when = new Option<string?>("--callback-when") { Description = "When to call back" };
        var command = new Command("record", "Record a call taken by this centre; it reaches the hub without its notes and the caller's contact.") { name, phone, when };
        command.WithOptions(call.All);
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var entry = await call.EntryAsync(result, cancellationToken);
            var contact = result.GetValue(phone) is { } number
                ? new CallbackContact { Name = result.GetValue(name) ?? "", Phone = number, WhenToCall = result.GetValue(when) ?? "" }
                : null;
            await using var connection = connect(result);
            var response = await connection.Hotline.RecordLocalHotlineCallAsync(
                new() { CallId = Guid.CreateVersion7().ToString(), Entry = entry, CallbackContact = contact }, cancellationToken: cancellationToken);
            Print(response.Call, "Call recorded; it reaches the hub through the outbox (without its notes and the caller's contact)");
        }));
        return command;
    }

    private static Command Amend(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("call-id");
        var amend = new HotlineCommandLine.AmendOptions();
        var clearContact = new Option<bool>("--clear-callback") { Description = "Forget whom to call back (not with the outcome call_back)" };
        var command = new Command("amend", "Amend a call (a new revision, sent to the hub in turn).") { id, clearContact };
        command.WithOptions(amend.All);
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var current = (await connection.Hotline.GetLocalHotlineCallAsync(new() { CallId = result.GetValue(id) }, cancellationToken: cancellationToken)).Call;
            var response = await connection.Hotline.AmendLocalHotlineCallAsync(new()
            {
                CallId = current.Call.CallId, ExpectedRevision = current.Call.Revision, Entry = amend.Apply(result, current.Call),
                CallbackContact = result.GetValue(clearContact) ? null : current.CallbackContact,
            }, cancellationToken: cancellationToken);
            Print(response.Call, "Call amended; the new revision reaches the hub through the outbox");
        }));
        return command;
    }

    private static Command Show(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("call-id");
        var json = new Option<bool>("--json");
        var command = new Command("show", "Show a call with its notes and whom to call back.") { id, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var call = (await connection.Hotline.GetLocalHotlineCallAsync(new() { CallId = result.GetValue(id) }, cancellationToken: cancellationToken)).Call;
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(call);
                return;
            }
            Print(call, null);
        }));
        return command;
    }

    private static Command Search(Func<ParseResult, LocalApiConnection> connect)
    {
        var search = new HotlineCommandLine.SearchOptions();
        var command = new Command("search", "Find this centre's calls, newest first.");
        command.WithOptions(search.All);
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var query = search.Request(result);
            await using var connection = connect(result);
            var table = HotlineCommandLine.CallTable(withHubState: true);
            do
            {
                var page = await connection.Hotline.SearchLocalHotlineCallsAsync(new() { Query = query }, cancellationToken: cancellationToken);
                foreach (var item in page.Calls)
                {
                    HotlineCommandLine.AddRow(table, item.Call, ProtoEnumNames.Name(item.DeliveryState));
                }
                query.PageToken = page.NextPageToken;
            }
            while (query.PageToken.Length > 0);
            AnsiConsole.Write(table);
        }));
        return command;
    }

    private static Command Suggest(Func<ParseResult, LocalApiConnection> connect)
    {
        var suggest = new HotlineCommandLine.SuggestOptions();
        var command = new Command("suggest", "Where can this patient be seen? Facilities treating the category, nearest first (from this spoke's directory copy).");
        command.WithOptions(suggest.All);
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Hotline.SuggestLocalFacilitiesAsync(new() { Query = suggest.Request(result) }, cancellationToken: cancellationToken);
            HotlineCommandLine.PrintSuggestions(response.Suggestions);
            AnsiConsole.MarkupLine("Refer in one step: [bold]spoke hotline refer <call-id> --to-facility <code> --patient <id> --reason <text>[/]");
        }));
        return command;
    }

    private static Command Refer(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("call-id");
        var facility = new Option<string>("--to-facility") { Description = "The facility to refer to, e.g. CORE-011", Required = true };
        var patient = new Option<string>("--patient") { Description = "The patient's id at this facility (never leaves this spoke)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why the patient is referred", Required = true };
        var urgent = new Option<bool>("--urgent");
        var command = new Command("refer", "Refer the caller's patient to a facility and record the referral on the call.") { id, facility, patient, reason, urgent };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var current = (await connection.Hotline.GetLocalHotlineCallAsync(new() { CallId = result.GetValue(id) }, cancellationToken: cancellationToken)).Call;
            var response = await connection.Hotline.ReferFromHotlineCallAsync(new()
            {
                CallId = current.Call.CallId, ExpectedRevision = current.Call.Revision, ReferralId = Guid.CreateVersion7().ToString(),
                FacilityCode = result.GetValue(facility)!, LocalPatientId = result.GetValue(patient)!, Reason = result.GetValue(reason)!,
                Urgency = result.GetValue(urgent) ? Urgency.Urgent : Urgency.Routine,
            }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]Referral {response.Referral.ReferralId} to {Markup.Escape(response.Referral.ReceivingFacilityCode)} stored[/]; it reaches the hub through the outbox.");
            Print(response.Call, null);
        }));
        return command;
    }

    private static void Print(LocalHotlineCall item, string? headline)
    {
        if (headline is not null)
        {
            AnsiConsole.MarkupLine($"[green]{Markup.Escape(headline)}[/]");
        }
        HotlineCommandLine.Print(item.Call, item.CallbackContact,
            ProtoEnumNames.Name(item.DeliveryState) + (item.DeliveryError.Length > 0 ? $": {item.DeliveryError}" : ""));
    }
}
