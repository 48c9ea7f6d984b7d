using System.CommandLine;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// The administrator's maintenance of the directory, against the hub's store: facilities (add, update,
/// retire), the trial catalogue (load a file, retire a trial), experts (retire). Every change reaches
/// every spoke through its feed.
/// </summary>
internal static class DirectoryCommands
{
    private delegate Task<int> WithHub(ParseResult result, Func<IServiceProvider, HubOptions, CancellationToken, Task> action, CancellationToken cancellationToken);

    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var directory = new Command("directory", "Maintain the national directory: facilities, trials, experts (administrators).");
        directory.Subcommands.Add(FacilityCommands(withHub.Invoke));
        directory.Subcommands.Add(TrialCommands(withHub.Invoke));
        var expertId = new Option<string>("--expert-id") { Required = true };
        var retireExpert = new Command("retire", "Retire an expert: no new consultations are assigned to them.") { expertId };
        retireExpert.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
            Published(await Administration(services).RetireExpertAsync(result.GetValue(expertId)!, cancellationToken)), cancellationToken));
        directory.Subcommands.Add(new Command("expert", "Experts of the directory (register them with register-expert).") { retireExpert });
        return directory;
    }

    private static Command FacilityCommands(WithHub withHub)
    {
        var code = new Option<string>("--code") { Description = "Facility code, e.g. HOSP-201", Required = true };
        var name = new Option<string?>("--name") { Description = "Japanese name, e.g. 国立病院機構 ○○医療センター" };
        var designation = new Option<string?>("--designation") { Description = "Genomic-medicine designation: genomic_core, genomic_hub or genomic_cooperative" };
        var prefecture = new Option<string?>("--prefecture") { Description = "Prefecture in Japanese, e.g. 東京都 (sets the region)" };
        var specialties = new Option<string[]?>("--specialty")
        {
            Description = "Organ specialty (repeatable; replaces the list): " + string.Join(", ", ProtoEnumNames.All<OrganSystem>()),
            AllowMultipleArgumentsPerToken = true,
        };
        var noSpecialties = new Option<bool>("--no-specialties") { Description = "Clear the organ specialties" };
        var core = new Option<bool?>("--core-center") { Description = "Whether it is a regional rare-cancer core center (true or false)" };
        var servedBy = new Option<string?>("--served-by") { Description = "Spoke node that serves it, or 'auto' for its region's core center" };
        var contactUrl = new Option<string?>("--contact-url") { Description = "The facility's page for patients (https), shown by the public finder; '' clears it" };

        FacilityChange Change(ParseResult result)
        {
            var servedByValue = result.GetValue(servedBy);
            var organs = result.GetValue(noSpecialties) ? [] : result.GetValue(specialties)?.Select(ParseOrgan).ToList();
            return new FacilityChange(result.GetValue(code)!, result.GetValue(name), result.GetValue(designation) is { } d ? ParseDesignation(d) : null,
                result.GetValue(prefecture), organs, result.GetValue(core), servedByValue is "auto" ? null : servedByValue, servedByValue is "auto",
                result.GetValue(contactUrl));
        }

        var add = new Command("add", "Add a facility.") { code, name, designation, prefecture, specialties, core, servedBy, contactUrl };
        add.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
            Published(await Administration(services).AddFacilityAsync(Change(result), cancellationToken)), cancellationToken));
        var update = new Command("update", "Change a facility; options left out stay as they are.") { code, name, designation, prefecture, specialties, noSpecialties, core, servedBy, contactUrl };
        update.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
            Published(await Administration(services).UpdateFacilityAsync(Change(result), cancellationToken)), cancellationToken));
        var retire = new Command("retire", "Retire a facility: kept for what points to it, offered for nothing new.") { code };
        retire.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
            Published(await Administration(services).RetireFacilityAsync(result.GetValue(code)!, cancellationToken)), cancellationToken));

        var organ = new Option<string?>("--organ") { Description = "Only facilities treating this organ system" };
        var region = new Option<string?>("--region") { Description = "Only this region, e.g. Kanto" };
        var listPrefecture = new Option<string?>("--prefecture") { Description = "Only this prefecture, e.g. 東京都" };
        var listDesignation = new Option<string?>("--designation") { Description = "Only facilities with this designation, e.g. rare_cancer_core_center" };
        var retired = new Option<bool>("--include-retired");
        var list = new Command("list", "List the directory's facilities as the spokes receive them.") { organ, region, listPrefecture, listDesignation, retired };
        list.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var filter = new FacilityFilter
            {
                OrganSpecialty = result.GetValue(organ) is { } o ? ParseOrgan(o) : OrganSystem.Unspecified,
                Region = result.GetValue(region) ?? "",
                Prefecture = result.GetValue(listPrefecture) ?? "",
                Designation = result.GetValue(listDesignation) is { } d ? ProtoEnumNames.Parse<FacilityDesignation>(d)
                    ?? throw Invalid("designation", d, ProtoEnumNames.All<FacilityDesignation>()) : FacilityDesignation.Unspecified,
                IncludeRetired = result.GetValue(retired),
            };
            await using var connection = await services.GetRequiredService<HubDatabase>().OpenAsync(cancellationToken);
            var entries = await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, cancellationToken);
            DirectoryPrinter.Facilities(entries.Select(e => e.Facility).Where(f => DirectorySearch.Matches(f, filter)));
        }, cancellationToken));
        return new Command("facility", "Facilities of the directory.") { add, update, retire, list };
    }

    private static Command TrialCommands(WithHub withHub)
    {
        var file = new Argument<FileInfo>("file") { Description = "Trial catalogue file (JSON, format rcn-trial-catalogue/1; see docs/trials.md)" };
        var load = new Command("load", "Load trials from a catalogue file: each replaces the trial of the same id; an invalid file changes nothing.") { file };
        load.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var trials = await TrialCatalogueFile.ParseAsync(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            var version = await Administration(services).LoadTrialsAsync(trials, cancellationToken);
            AnsiConsole.MarkupLine($"[green]Loaded {trials.Count} trial(s)[/]: {Markup.Escape(string.Join(", ", trials.Select(t => t.TrialId)))}.");
            Published(version);
        }, cancellationToken));
        var trialId = new Option<string>("--trial-id") { Required = true };
        var retire = new Command("retire", "Retire a trial: never matched again; referrals to it keep pointing at it.") { trialId };
        retire.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
            Published(await Administration(services).RetireTrialAsync(result.GetValue(trialId)!, cancellationToken)), cancellationToken));
        var all = new Option<bool>("--all") { Description = "Also closed and retired trials" };
        var list = new Command("list", "List the trial catalogue.") { all };
        list.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            await using var connection = await services.GetRequiredService<HubDatabase>().OpenAsync(cancellationToken);
            var entries = await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, cancellationToken);
            DirectoryPrinter.Trials(entries.Select(e => e.Trial).Where(t => DirectorySearch.Listed(t, result.GetValue(all), result.GetValue(all))));
        }, cancellationToken));
        return new Command("trials", "The trial catalogue.") { load, retire, list };
    }

    private static DirectoryAdministration Administration(IServiceProvider services) =>
        services.CreateScope().ServiceProvider.GetRequiredService<DirectoryAdministration>();

    private static void Published(long version) =>
        AnsiConsole.MarkupLine($"Directory version {version}; the spokes receive it through their feeds.");

    private static OrganSystem ParseOrgan(string name) =>
        ProtoEnumNames.Parse<OrganSystem>(name) ?? throw Invalid("specialty", name, ProtoEnumNames.All<OrganSystem>());

    private static FacilityDesignation ParseDesignation(string name) =>
        ProtoEnumNames.Parse<FacilityDesignation>(name) ?? throw Invalid("designation", name, ProtoEnumNames.All<FacilityDesignation>());

    private static InvalidFieldsException Invalid(string field, string value, IEnumerable<string> allowed) =>
        new([new FieldViolation(field, $"'{value}' is not one of: {string.Join(", ", allowed)}")]);
}
