using System.CommandLine;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>The directory from this spoke's copy (works offline): facilities by organ, region, prefecture or designation; experts; trials.</summary>
internal static class DirectoryCommands
{
    public static Command Create(Func<ParseResult, LocalApiConnection> connect)
    {
        var organ = new Option<string?>("--organ") { Description = "Only facilities treating this organ system: " + string.Join(", ", ProtoEnumNames.All<OrganSystem>()) };
        var region = new Option<string?>("--region") { Description = "Only this region: " + string.Join(", ", ReferenceLists.Regions) };
        var prefecture = new Option<string?>("--prefecture") { Description = "Only this prefecture, in Japanese (e.g. 東京都)" };
        var designation = new Option<string?>("--designation") { Description = "Only this designation: " + string.Join(", ", ProtoEnumNames.All<FacilityDesignation>()) };
        var retired = new Option<bool>("--include-retired");
        var facilities = new Command("facilities", "Search facilities.") { organ, region, prefecture, designation, retired };
        facilities.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var filter = new FacilityFilter
            {
                OrganSpecialty = Parse<OrganSystem>(result.GetValue(organ), "--organ"),
                Region = result.GetValue(region) ?? "",
                Prefecture = result.GetValue(prefecture) ?? "",
                Designation = Parse<FacilityDesignation>(result.GetValue(designation), "--designation"),
                IncludeRetired = result.GetValue(retired),
            };
            await using var connection = connect(result);
            var response = await connection.Directory.SearchFacilitiesAsync(new() { Filter = filter }, cancellationToken: cancellationToken);
            DirectoryPrinter.Facilities(response.Facilities);
            PrintCopy(response.Copy);
        }));

        var allTrials = new Option<bool>("--all") { Description = "Also closed and retired trials" };
        var trials = new Command("trials", "List the trial catalogue.") { allTrials };
        trials.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var all = result.GetValue(allTrials);
            var response = await connection.Directory.ListLocalTrialsAsync(new() { IncludeClosed = all, IncludeRetired = all }, cancellationToken: cancellationToken);
            DirectoryPrinter.Trials(response.Trials);
            PrintCopy(response.Copy);
        }));

        var experts = new Command("experts", "List the hub's expert pathologists and their specialties.");
        experts.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Directory.ListDirectoryExpertsAsync(new(), cancellationToken: cancellationToken);
            var table = new Table().AddColumns("expert", "name", "organ specialties");
            foreach (var expert in response.Experts)
            {
                table.AddRow(Markup.Escape(expert.ExpertId), Markup.Escape(expert.DisplayName), string.Join(", ", expert.OrganSpecialties.Select(ProtoEnumNames.Name)));
            }
            AnsiConsole.Write(table);
            PrintCopy(response.Copy);
        }));
        return new Command("directory", "The national directory as this spoke holds it (works while the hub is away).") { facilities, trials, experts };
    }

    public static void PrintCopy(DirectoryCopy copy) =>
        AnsiConsole.MarkupLine(copy.SyncedAt is null
            ? "[yellow]This spoke has not received the directory from the hub yet.[/]"
            : $"Directory version {copy.DirectoryVersion}, last caught up with the hub {JapanTime.Format(copy.SyncedAt.ToDateTimeOffset())}.");

    private static TEnum Parse<TEnum>(string? name, string option) where TEnum : struct, Enum =>
        name is null ? default
        : ProtoEnumNames.Parse<TEnum>(name) ?? throw new InvalidDataException($"{option} '{name}' is not one of: {string.Join(", ", ProtoEnumNames.All<TEnum>())}");
}
