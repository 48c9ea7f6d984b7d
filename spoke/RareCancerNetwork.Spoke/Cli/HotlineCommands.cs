using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Validation;
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
        var started = new Option<string?>("--started") { Description = "When the call began, Japan time (e.g. '2026-11-24 10:30'); default: its length ago" };
        var minutes = new Option<int>("--minutes") { Description = "How long it lasted, in minutes", Required = true };
        var channel = EnumOption<HotlineChannel>("--channel", "How the caller reached the hotline", required: false);
        var caller = EnumOption<CallerRelation>("--caller", "Who called", required: true);
        var prefecture = new Option<string?>("--prefecture") { Description = "The patient's prefecture, e.g. 愛知県 (leave out when not told)" };
        var age = EnumOption<AgeBand>("--age", "The patient's age band (not_told when not told)", required: false);
        var category = EnumOption<OrganSystem>("--category", "The rare-cancer category, when known", required: false);
        var cancer = new Option<string?>("--cancer") { Description = "The cancer as the caller described it, when no category fits (stays at this centre)" };
        var topics = EnumList<HotlineTopic>("--topic", "What the caller asked about (repeatable)");
        var outcomes = EnumList<HotlineOutcome>("--outcome", "How the call ended (repeatable)");
        var suggested = new Option<string[]>("--suggest") { Description = "A facility suggested (repeatable), with --outcome facility_suggested", AllowMultipleArgumentsPerToken = true };
        var notes = new Option<string?>("--notes") { Description = "The counsellor's notes (stay at this centre)" };
        var notesFile = new Option<FileInfo?>("--notes-file") { Description = "The notes from a UTF-8 text file" };
        var name = new Option<string?>("--callback-name") { Description = "Whom to call back (stays at this centre)" };
        var phone = new Option<string?>("--callback-phone") { Description = "The number to call back, with --outcome call_back (stays at this centre)" };
        var when = new Option<string?>("--callback-when") { Description = "When to call back" };
        var command = new Command("record", "Record a call taken by this centre; it reaches the hub without its notes and the caller's contact.")
        {
            started, minutes, channel, caller, prefecture, age, category, cancer, topics, outcomes, suggested, notes, notesFile, name, phone, when,
        };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var length = result.GetValue(minutes);
            var entry = new HotlineCallEntry
            {
                StartedAt = Timestamp.FromDateTimeOffset(result.GetValue(started) is { } text ? ParseJapanTime(text) : DateTimeOffset.UtcNow.AddMinutes(-length)),
                DurationMinutes = length,
                Channel = Parse<HotlineChannel>(result.GetValue(channel), "--channel") ?? HotlineChannel.Phone,
                CallerRelation = Parse<CallerRelation>(result.GetValue(caller), "--caller") ?? CallerRelation.Unspecified,
                PatientPrefecture = result.GetValue(prefecture) ?? "",
                PatientAgeBand = Parse<AgeBand>(result.GetValue(age), "--age") ?? AgeBand.NotTold,
                CancerCategory = Parse<OrganSystem>(result.GetValue(category), "--category") ?? OrganSystem.Unspecified,
                CancerDescription = result.GetValue(cancer) ?? "",
                Notes = await NotesAsync(result.GetValue(notes), result.GetValue(notesFile), cancellationToken),
            };
            entry.Topics.AddRange(ParseAll<HotlineTopic>(result.GetValue(topics), "--topic"));
            entry.Outcomes.AddRange(ParseAll<HotlineOutcome>(result.GetValue(outcomes), "--outcome"));
            entry.SuggestedFacilityCodes.AddRange(result.GetValue(suggested) ?? []);
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
        var outcomes = EnumList<HotlineOutcome>("--outcome", "How the call ended now (repeatable; replaces the outcomes)");
        outcomes.Required = false;
        var suggested = new Option<string[]?>("--suggest") { Description = "Facilities suggested (repeatable; replaces them)", AllowMultipleArgumentsPerToken = true };
        var append = new Option<string?>("--append-notes") { Description = "Text added at the end of the notes (after a call back, say)" };
        var clearContact = new Option<bool>("--clear-callback") { Description = "Forget whom to call back (not with the outcome call_back)" };
        var command = new Command("amend", "Amend a call (a new revision, sent to the hub in turn).") { id, outcomes, suggested, append, clearContact };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var current = (await connection.Hotline.GetLocalHotlineCallAsync(new() { CallId = result.GetValue(id) }, cancellationToken: cancellationToken)).Call;
            var entry = Node.Hotline.HotlineCalls.EntryOf(current.Call);
            if (result.GetValue(outcomes) is { Length: > 0 } given)
            {
                entry.Outcomes.Clear();
                entry.Outcomes.AddRange(ParseAll<HotlineOutcome>(given, "--outcome"));
            }
            if (result.GetValue(suggested) is { Length: > 0 } codes)
            {
                entry.SuggestedFacilityCodes.Clear();
                entry.SuggestedFacilityCodes.AddRange(codes);
            }
            else if (!entry.Outcomes.Contains(HotlineOutcome.FacilitySuggested))
            {
                // Facilities are named only with that outcome: dropping it drops them.
                entry.SuggestedFacilityCodes.Clear();
            }
            if (result.GetValue(append) is { Length: > 0 } more)
            {
                entry.Notes = entry.Notes.Length == 0 ? more : entry.Notes + "\n" + more;
            }
            var response = await connection.Hotline.AmendLocalHotlineCallAsync(new()
            {
                CallId = current.Call.CallId, ExpectedRevision = current.Call.Revision, Entry = entry,
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
        var text = new Option<string?>("--text") { Description = "Words the notes must contain (all of them), Japanese included, e.g. '肉腫 セカンドオピニオン'" };
        var from = new Option<string?>("--from") { Description = "Calls from this day (YYYY-MM-DD, Japan time)" };
        var to = new Option<string?>("--to") { Description = "Calls until this day" };
        var topic = EnumOption<HotlineTopic>("--topic", "Only calls about this topic", required: false);
        var command = new Command("search", "Find this centre's calls, newest first.") { text, from, to, topic };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var query = new SearchHotlineCallsRequest
            {
                Text = result.GetValue(text) ?? "", FromDate = result.GetValue(from) ?? "", ToDate = result.GetValue(to) ?? "",
                Topic = Parse<HotlineTopic>(result.GetValue(topic), "--topic") ?? HotlineTopic.Unspecified, PageSize = 200,
            };
            await using var connection = connect(result);
            var table = new Table().AddColumn(new TableColumn("call").NoWrap()).AddColumns("began (JST)", "caller", "category", "topics", "outcomes", "notes", "hub");
            do
            {
                var page = await connection.Hotline.SearchLocalHotlineCallsAsync(new() { Query = query }, cancellationToken: cancellationToken);
                foreach (var item in page.Calls)
                {
                    var c = item.Call;
                    table.AddRow(c.CallId, JapanTime.Format(c.StartedAt.ToDateTimeOffset()), ProtoEnumNames.Name(c.CallerRelation),
                        c.CancerCategory == OrganSystem.Unspecified ? Markup.Escape(c.CancerDescription) : ProtoEnumNames.Name(c.CancerCategory),
                        string.Join(", ", c.Topics.Select(ProtoEnumNames.Name)), string.Join(", ", c.Outcomes.Select(ProtoEnumNames.Name)),
                        Markup.Escape(c.Notes.Length > 40 ? c.Notes[..40] + "…" : c.Notes), ProtoEnumNames.Name(item.DeliveryState));
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
        var organ = EnumOption<OrganSystem>("--organ", "The rare-cancer category (organ system)", required: true);
        var prefecture = new Option<string?>("--prefecture") { Description = "The patient's prefecture, e.g. 愛知県: its facilities first, then the nearest regions'" };
        var limit = new Option<int>("--limit") { Description = "How many (default 20, at most 100)" };
        var command = new Command("suggest", "Where can this patient be seen? Facilities treating the category, nearest first (from this spoke's directory copy).")
        {
            organ, prefecture, limit,
        };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Hotline.SuggestLocalFacilitiesAsync(new()
            {
                Query = new SuggestFacilitiesRequest
                {
                    OrganSystem = Parse<OrganSystem>(result.GetValue(organ), "--organ") ?? OrganSystem.Unspecified,
                    PatientPrefecture = result.GetValue(prefecture) ?? "", Limit = result.GetValue(limit),
                },
            }, cancellationToken: cancellationToken);
            string[] nearness = ["same prefecture", "same region", "neighbouring region", "two regions away", "three or more regions away"];
            var table = new Table().AddColumn(new TableColumn("facility").NoWrap()).AddColumns("name", "prefecture", "region", "nearness", "contact page");
            foreach (var s in response.Suggestions)
            {
                table.AddRow(s.Facility.FacilityCode, Markup.Escape(s.Facility.NameJa), Markup.Escape(s.Facility.Prefecture), Markup.Escape(s.Facility.Region),
                    nearness[Math.Min(s.Distance, nearness.Length - 1)], Markup.Escape(s.Facility.ContactUrl));
            }
            AnsiConsole.Write(table);
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
        var c = item.Call;
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string label, string value) => grid.AddRow($"[bold]{label}[/]", Markup.Escape(value));
        Row("call", $"{c.CallId} (revision {c.Revision})");
        Row("centre", c.CentreFacilityCode);
        Row("began", $"{JapanTime.Format(c.StartedAt.ToDateTimeOffset())}, {c.DurationMinutes} min, {ProtoEnumNames.Name(c.Channel)}");
        Row("caller", ProtoEnumNames.Name(c.CallerRelation));
        Row("patient", $"{(c.PatientPrefecture.Length > 0 ? c.PatientPrefecture : "prefecture not told")}, age {ProtoEnumNames.Name(c.PatientAgeBand)}");
        Row("cancer", c.CancerCategory == OrganSystem.Unspecified ? c.CancerDescription : ProtoEnumNames.Name(c.CancerCategory));
        Row("topics", string.Join(", ", c.Topics.Select(ProtoEnumNames.Name)));
        Row("outcomes", string.Join(", ", c.Outcomes.Select(ProtoEnumNames.Name)));
        if (c.SuggestedFacilityCodes.Count > 0)
        {
            Row("suggested", string.Join(", ", c.SuggestedFacilityCodes));
        }
        if (c.ReferralId.Length > 0)
        {
            Row("referral", c.ReferralId);
        }
        if (item.CallbackContact is { } contact)
        {
            Row("call back", $"{contact.Name} {contact.Phone} {contact.WhenToCall}".Trim());
        }
        Row("notes", c.Notes);
        Row("hub", ProtoEnumNames.Name(item.DeliveryState) + (item.DeliveryError.Length > 0 ? $": {item.DeliveryError}" : ""));
        AnsiConsole.Write(grid);
    }

    private static Option<string?> EnumOption<TEnum>(string name, string description, bool required) where TEnum : struct, System.Enum =>
        new(name) { Description = $"{description}: {string.Join(", ", ProtoEnumNames.All<TEnum>())}", Required = required };

    private static Option<string[]> EnumList<TEnum>(string name, string description) where TEnum : struct, System.Enum =>
        new(name) { Description = $"{description}: {string.Join(", ", ProtoEnumNames.All<TEnum>())}", Required = true, AllowMultipleArgumentsPerToken = true };

    private static TEnum? Parse<TEnum>(string? name, string option) where TEnum : struct, System.Enum =>
        name is null ? null
        : ProtoEnumNames.Parse<TEnum>(name) ?? throw new InvalidDataException($"{option} '{name}' is not one of: {string.Join(", ", ProtoEnumNames.All<TEnum>())}");

    private static IEnumerable<TEnum> ParseAll<TEnum>(string[]? names, string option) where TEnum : struct, System.Enum =>
        (names ?? []).Select(n => Parse<TEnum>(n, option)!.Value);

    private static async Task<string> NotesAsync(string? notes, FileInfo? file, CancellationToken cancellationToken) =>
        file is null ? notes ?? "" : await File.ReadAllTextAsync(file.FullName, System.Text.Encoding.UTF8, cancellationToken);

    /// <summary>A time as people at the centre write it: Japan time.</summary>
    private static DateTimeOffset ParseJapanTime(string text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            ? new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), TimeSpan.FromHours(9)).ToUniversalTime()
            : throw new InvalidDataException($"--started '{text}' is not a time such as '2026-11-24 10:30' (Japan time)");
}
