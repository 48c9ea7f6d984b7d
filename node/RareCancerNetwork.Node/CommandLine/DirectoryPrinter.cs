using System.Globalization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>How both programs print facilities, trials and match results.</summary>
public static class DirectoryPrinter
{
    public static void Facilities(IEnumerable<Facility> facilities)
    {
        var table = new Table().AddColumn(new TableColumn("code").NoWrap()).AddColumns("name", "prefecture", "designations", "organ specialties", "served by");
        var count = 0;
        foreach (var f in facilities)
        {
            table.AddRow(Markup.Escape(f.FacilityCode), Markup.Escape(f.NameJa + (f.Retired ? " (retired)" : "")), Markup.Escape(f.Prefecture),
                string.Join(", ", f.Designations.Select(ProtoEnumNames.Name)), string.Join(", ", f.OrganSpecialties.Select(ProtoEnumNames.Name)),
                Markup.Escape(f.ServingNodeId.Length > 0 ? $"{f.ServingNodeId} ({f.ServingFacilityCode})" : "-"));
            count++;
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{count:N0} facilities");
    }

    public static void Trials(IEnumerable<Trial> trials)
    {
        var table = new Table().AddColumn(new TableColumn("trial").NoWrap()).AddColumns("phase", "status", "title", "arms (open)", "sites");
        foreach (var t in trials)
        {
            table.AddRow(Markup.Escape(t.TrialId), Phase(t.Phase), ProtoEnumNames.Name(t.Status) + (t.Retired ? ", retired" : ""), Markup.Escape(t.Title),
                Markup.Escape(string.Join(", ", t.Arms.Select(a => a.Status == RecruitmentStatus.Recruiting ? a.ArmId : $"{a.ArmId} (closed)"))),
                Markup.Escape(string.Join(", ", t.SiteFacilityCodes)));
        }
        AnsiConsole.Write(table);
    }

    public static void MatchResult(TrialMatchResult result)
    {
        AnsiConsole.MarkupLine($"Record {result.RecordId}, trial catalogue version {result.DirectoryVersion.ToString(CultureInfo.InvariantCulture)}, " +
            $"matched {JapanTime.Format(result.MatchedAt.ToDateTimeOffset())}");
        if (result.NoMatchReason.Length > 0)
        {
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(result.NoMatchReason)}[/]");
            return;
        }
        Section("Eligible", result.Matches);
        Section("Near misses (one criterion not met)", result.NearMisses);
    }

    private static void Section(string heading, Google.Protobuf.Collections.RepeatedField<TrialMatch> matches)
    {
        AnsiConsole.MarkupLine($"[bold]{heading}: {matches.Count}[/]");
        foreach (var match in matches)
        {
            AnsiConsole.MarkupLine($"  [bold]{Markup.Escape(match.TrialId)}[/] arm {Markup.Escape(match.ArmId)} (phase {Phase(match.Phase)}" +
                $"{(match.BiomarkerMatched ? ", biomarker-matched" : "")}): {Markup.Escape(match.ArmTitle)}");
            foreach (var criterion in match.Criteria)
            {
                var mark = criterion.Outcome switch
                {
                    CriterionOutcome.Met => "[green]met[/]",
                    CriterionOutcome.NotMet => "[red]NOT MET[/]",
                    _ => "[yellow]unknown[/]",
                };
                AnsiConsole.MarkupLine($"    {mark} {Markup.Escape(criterion.Criterion)}: {Markup.Escape(criterion.Explanation)}");
            }
        }
    }

    /// <summary>"1b/2" rather than the enum's name.</summary>
    public static string Phase(TrialPhase phase) => ProtoEnumNames.Name(phase).Replace('_', '/');
}
