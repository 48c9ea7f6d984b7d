using System.CommandLine;
using System.Globalization;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using RareCancerNetwork.Node.Hotline;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>
/// What the hotline commands of the hub (the central institution's counsellors) and of a spoke (a core center's) have in
/// common: the options of a call, of an amendment and of a search, and how a call and the suggestions are shown.
/// </summary>
public static class HotlineCommandLine
{
    /// <summary>The options describing a call, for 'record'.</summary>
    public sealed class CallOptions
    {
        public Option<string?> Started { get; } = new("--started") { Description = "When the call began, Japan time (e.g. '2026-11-24 10:30'); default: its length ago" };
        public Option<int> Minutes { get; } = new("--minutes") { Description = "How long it lasted, in minutes", Required = true };
        public Option<string?> Channel { get; } = EnumOption<HotlineChannel>("--channel", "How the caller reached the hotline (default phone)", required: false);
        public Option<string?> Caller { get; } = EnumOption<CallerRelation>("--caller", "Who called", required: true);
        public Option<string?> Prefecture { get; } = new("--prefecture") { Description = "The patient's prefecture, e.g. 愛知県 (leave out when not told)" };
        public Option<string?> Age { get; } = EnumOption<AgeBand>("--age", "The patient's age band (default not_told)", required: false);
        public Option<string?> Category { get; } = EnumOption<OrganSystem>("--category", "The rare-cancer category, when known", required: false);
        public Option<string?> Cancer { get; } = new("--cancer") { Description = "The cancer as the caller described it, when no category fits (stays at this centre)" };
        public Option<string[]> Topics { get; } = EnumList<HotlineTopic>("--topic", "What the caller asked about (repeatable)", required: true);
        public Option<string[]> Outcomes { get; } = EnumList<HotlineOutcome>("--outcome", "How the call ended (repeatable)", required: true);
        public Option<string[]> Suggested { get; } = new("--suggest") { Description = "A facility suggested (repeatable), with --outcome facility_suggested", AllowMultipleArgumentsPerToken = true };
        public Option<string?> Notes { get; } = new("--notes") { Description = "The counsellor's notes (stay at this centre)" };
        public Option<FileInfo?> NotesFile { get; } = new("--notes-file") { Description = "The notes from a UTF-8 text file" };

        public IEnumerable<Option> All => [Started, Minutes, Channel, Caller, Prefecture, Age, Category, Cancer, Topics, Outcomes, Suggested, Notes, NotesFile];

        public async Task<HotlineCallEntry> EntryAsync(ParseResult result, CancellationToken cancellationToken)
        {
            var length = result.GetValue(Minutes);
            var notesFile = result.GetValue(NotesFile);
            var entry = new HotlineCallEntry
            {
                StartedAt = Timestamp.FromDateTimeOffset(result.GetValue(Started) is { } text ? ParseJapanTime(text) : DateTimeOffset.UtcNow.AddMinutes(-length)),
                DurationMinutes = length,
                Channel = Parse<HotlineChannel>(result.GetValue(Channel), "--channel") ?? HotlineChannel.Phone,
                CallerRelation = Parse<CallerRelation>(result.GetValue(Caller), "--caller") ?? CallerRelation.Unspecified,
                PatientPrefecture = result.GetValue(Prefecture) ?? "",
                PatientAgeBand = Parse<AgeBand>(result.GetValue(Age), "--age") ?? AgeBand.NotTold,
                CancerCategory = Parse<OrganSystem>(result.GetValue(Category), "--category") ?? OrganSystem.Unspecified,
                CancerDescription = result.GetValue(Cancer) ?? "",
                Notes = notesFile is null ? result.GetValue(Notes) ?? "" : await File.ReadAllTextAsync(notesFile.FullName, System.Text.Encoding.UTF8, cancellationToken),
            };
            entry.Topics.AddRange(ParseAll<HotlineTopic>(result.GetValue(Topics), "--topic"));
            entry.Outcomes.AddRange(ParseAll<HotlineOutcome>(result.GetValue(Outcomes), "--outcome"));
            entry.SuggestedFacilityCodes.AddRange(result.GetValue(Suggested) ?? []);
            return entry;
        }
    }

    /// <summary>The options of 'amend': what changes after a call back; the rest of the call stays as it is.</summary>
    public sealed class AmendOptions
    {
        public Option<string[]> Outcomes { get; } = EnumList<HotlineOutcome>("--outcome", "How the call ended now (repeatable; replaces the outcomes)", required: false);
        public Option<string[]> Suggested { get; } = new("--suggest") { Description = "Facilities suggested (repeatable; replaces them)", AllowMultipleArgumentsPerToken = true };
        public Option<string?> AppendNotes { get; } = new("--append-notes") { Description = "Text added at the end of the notes (after a call back, say)" };

        public IEnumerable<Option> All => [Outcomes, Suggested, AppendNotes];

        public HotlineCallEntry Apply(ParseResult result, HotlineCall current)
        {
            var entry = HotlineCalls.EntryOf(current);
            if (result.GetValue(Outcomes) is { Length: > 0 } given)
            {
                entry.Outcomes.Clear();
                entry.Outcomes.AddRange(ParseAll<HotlineOutcome>(given, "--outcome"));
            }
            if (result.GetValue(Suggested) is { Length: > 0 } codes)
            {
                entry.SuggestedFacilityCodes.Clear();
                entry.SuggestedFacilityCodes.AddRange(codes);
            }
            else if (!entry.Outcomes.Contains(HotlineOutcome.FacilitySuggested))
            {
                // Facilities are named only with that outcome: dropping it drops them.
                entry.SuggestedFacilityCodes.Clear();
            }
            if (result.GetValue(AppendNotes) is { Length: > 0 } more)
            {
                entry.Notes = entry.Notes.Length == 0 ? more : entry.Notes + "\n" + more;
            }
            return entry;
        }
    }

    /// <summary>The options of 'search'.</summary>
    public sealed class SearchOptions
    {
        public Option<string?> Text { get; } = new("--text") { Description = "Words the notes must contain (all of them), Japanese included, e.g. '肉腫 セカンドオピニオン'" };
        public Option<string?> From { get; } = new("--from") { Description = "Calls from this day (YYYY-MM-DD, Japan time)" };
        public Option<string?> To { get; } = new("--to") { Description = "Calls until this day" };
        public Option<string?> Topic { get; } = EnumOption<HotlineTopic>("--topic", "Only calls about this topic", required: false);

        public IEnumerable<Option> All => [Text, From, To, Topic];

        public SearchHotlineCallsRequest Request(ParseResult result) => new()
        {
            Text = result.GetValue(Text) ?? "", FromDate = result.GetValue(From) ?? "", ToDate = result.GetValue(To) ?? "",
            Topic = Parse<HotlineTopic>(result.GetValue(Topic), "--topic") ?? HotlineTopic.Unspecified, PageSize = Protos.Contract.ContractLimits.HotlinePageSize,
        };
    }

    /// <summary>The options of 'suggest'.</summary>
    public sealed class SuggestOptions
    {
        public Option<string?> Organ { get; } = EnumOption<OrganSystem>("--organ", "The rare-cancer category (organ system)", required: true);
        public Option<string?> Prefecture { get; } = new("--prefecture") { Description = "The patient's prefecture, e.g. 愛知県: its facilities first, then the nearest regions'" };
        public Option<int> Limit { get; } = new("--limit") { Description = "How many (default 20, at most 100)" };

        public IEnumerable<Option> All => [Organ, Prefecture, Limit];

        public SuggestFacilitiesRequest Request(ParseResult result) => new()
        {
            OrganSystem = Parse<OrganSystem>(result.GetValue(Organ), "--organ") ?? OrganSystem.Unspecified,
            PatientPrefecture = result.GetValue(Prefecture) ?? "", Limit = result.GetValue(Limit),
        };
    }

    /// <summary>One call, with whom to call back and where it stands with the hub when those are known here.</summary>
    public static void Print(HotlineCall c, CallbackContact? contact = null, string? hub = null)
    {
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
        if (contact is not null)
        {
            Row("call back", $"{contact.Name} {contact.Phone} {contact.WhenToCall}".Trim());
        }
        Row("notes", c.Notes);
        if (hub is not null)
        {
            Row("hub", hub);
        }
        AnsiConsole.Write(grid);
    }

    /// <summary>A table of calls, newest first; <paramref name="withHubState"/> adds where each stands with the hub.</summary>
    public static Table CallTable(bool withHubState) => withHubState
        ? new Table().AddColumn(new TableColumn("call").NoWrap()).AddColumns("began (JST)", "caller", "category", "topics", "outcomes", "notes", "hub")
        : new Table().AddColumn(new TableColumn("call").NoWrap()).AddColumns("began (JST)", "caller", "category", "topics", "outcomes", "notes");

    public static void AddRow(Table table, HotlineCall c, string? hubState = null)
    {
        string[] cells =
        [
            c.CallId, JapanTime.Format(c.StartedAt.ToDateTimeOffset()), ProtoEnumNames.Name(c.CallerRelation),
            c.CancerCategory == OrganSystem.Unspecified ? Markup.Escape(c.CancerDescription) : ProtoEnumNames.Name(c.CancerCategory),
            string.Join(", ", c.Topics.Select(ProtoEnumNames.Name)), string.Join(", ", c.Outcomes.Select(ProtoEnumNames.Name)),
            Markup.Escape(c.Notes.Length > 40 ? c.Notes[..40] + "…" : c.Notes),
        ];
        table.AddRow(hubState is null ? cells : [.. cells, hubState]);
    }

    public static void PrintSuggestions(IEnumerable<FacilitySuggestion> suggestions)
    {
        string[] nearness = ["same prefecture", "same region", "neighbouring region", "two regions away", "three or more regions away"];
        var table = new Table().AddColumn(new TableColumn("facility").NoWrap()).AddColumns("name", "prefecture", "region", "nearness", "contact page");
        foreach (var s in suggestions)
        {
            table.AddRow(s.Facility.FacilityCode, Markup.Escape(s.Facility.NameJa), Markup.Escape(s.Facility.Prefecture), Markup.Escape(s.Facility.Region),
                nearness[Math.Min(s.Distance, nearness.Length - 1)], Markup.Escape(s.Facility.ContactUrl));
        }
        AnsiConsole.Write(table);
    }

    private static Option<string?> EnumOption<TEnum>(string name, string description, bool required) where TEnum : struct, System.Enum =>
        new(name) { Description = $"{description}: {string.Join(", ", ProtoEnumNames.All<TEnum>())}", Required = required };

    private static Option<string[]> EnumList<TEnum>(string name, string description, bool required) where TEnum : struct, System.Enum =>
        new(name) { Description = $"{description}: {string.Join(", ", ProtoEnumNames.All<TEnum>())}", Required = required, AllowMultipleArgumentsPerToken = true };

    private static TEnum? Parse<TEnum>(string? name, string option) where TEnum : struct, System.Enum =>
        name is null ? null
        : ProtoEnumNames.Parse<TEnum>(name) ?? throw new InvalidDataException($"{option} '{name}' is not one of: {string.Join(", ", ProtoEnumNames.All<TEnum>())}");

    private static IEnumerable<TEnum> ParseAll<TEnum>(string[]? names, string option) where TEnum : struct, System.Enum =>
        (names ?? []).Select(n => Parse<TEnum>(n, option)!.Value);

    /// <summary>A time as people at the centre write it: Japan time.</summary>
    private static DateTimeOffset ParseJapanTime(string text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            ? new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), TimeSpan.FromHours(9)).ToUniversalTime()
            : throw new InvalidDataException($"--started '{text}' is not a time such as '2026-11-24 10:30' (Japan time)");
}
