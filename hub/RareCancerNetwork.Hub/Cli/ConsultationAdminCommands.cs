using System.CommandLine;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Validation;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>The administrator's view of the consultation queues, against the hub's store: who waits for an expert, and reassignment by hand.</summary>
internal static class ConsultationAdminCommands
{
    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var waiting = new Command("waiting",
            "List every consultation waiting for an expert, with its age and place in its organ system's queue, and those still waiting for their attached files.");
        waiting.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var cases = await services.GetRequiredService<ConsultationStore>().WaitingAsync(token);
            var now = DateTimeOffset.UtcNow;
            var table = new Table().AddColumn(new TableColumn("consultation").NoWrap()).AddColumns("organ system", "queue", "urgency", "facility", "received", "waiting", "declined by");
            foreach (var c in cases)
            {
                var age = now - c.ReceivedAt;
                table.AddRow(c.ConsultationId, ProtoEnumNames.Name(c.OrganSystem), c.QueuePosition.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ProtoEnumNames.Name(c.Urgency), Markup.Escape(c.FacilityCode), JapanTime.Format(c.ReceivedAt),
                    (age.TotalDays >= 7 ? "[red]" : age.TotalDays >= 2 ? "[yellow]" : "[default]") + $"{(int)age.TotalDays}d {age.Hours}h[/]",
                    c.Declines.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(cases.Count == 0 ? "[green]No consultation waits for an expert.[/]"
                : $"[yellow]{cases.Count} consultation(s) wait for an expert[/]: register one ('register-expert'), raise a capacity, or reassign ('consultations reassign').");
            // Not yet anyone's: their files are still on the way from the requesting spoke.
            var awaiting = await services.GetRequiredService<HubAttachments>().AwaitingAsync(token);
            if (awaiting.Count > 0)
            {
                var files = new Table().AddColumn(new TableColumn("consultation").NoWrap()).AddColumns("facility", "received", "waiting", "files to come", "arrived");
                foreach (var a in awaiting)
                {
                    var age = now - a.ReceivedAt;
                    files.AddRow(a.ConsultationId, Markup.Escape(a.FacilityCode), JapanTime.Format(a.ReceivedAt), $"{(int)age.TotalDays}d {age.Hours}h",
                        a.FilesMissing.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        $"{Markup.Escape(AttachmentOptions.Bytes(a.BytesHeld))} of {Markup.Escape(AttachmentOptions.Bytes(a.BytesMissing))}");
                }
                AnsiConsole.Write(files);
                AnsiConsole.MarkupLine($"[yellow]{awaiting.Count} consultation(s) wait for attached files from their spokes[/] before an expert is offered them; " +
                    "a file that does not move points to the spoke's upload ('spoke show' there says what it holds).");
            }
        }, cancellationToken));

        var id = new Option<string>("--id") { Description = "The consultation", Required = true };
        var expert = new Option<string>("--expert") { Description = "The expert to give it to", Required = true };
        var reassign = new Command("reassign", "Give a consultation not yet reported to an expert by hand (recorded in its timeline).") { id, expert };
        reassign.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            await services.GetRequiredService<ConsultationStore>().ReassignAsync(result.GetValue(id)!, result.GetValue(expert)!, "administrator", token);
            AnsiConsole.MarkupLine($"[green]Assigned[/] to {Markup.Escape(result.GetValue(expert)!)}; the requesting spoke sees it in the timeline.");
        }, cancellationToken));
        return new Command("consultations", "The consultation queues (administrators).") { waiting, reassign };
    }
}
