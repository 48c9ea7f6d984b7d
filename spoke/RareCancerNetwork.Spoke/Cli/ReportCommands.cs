using System.CommandLine;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Store;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary><c>verify-report</c>: checks an exported report's signature offline, with the hub's keys this spoke holds.</summary>
internal static class ReportCommands
{
    public static Command VerifyReport()
    {
        var file = new Argument<FileInfo>("file") { Description = "A report exported with 'show <id> --export-report FILE' (JSON)" };
        var data = new Option<string>("--data") { Description = "Spoke data folder, whose store holds the hub's report-signing keys", DefaultValueFactory = _ => ".rcn/spoke" };
        var command = new Command("verify-report", "Verify a report file's hub signature offline. Exit code 0 when valid, 1 when not.") { file, data };
        command.SetAction(async (result, cancellationToken) =>
        {
            ConsultationReport report;
            try
            {
                report = JsonParser.Default.Parse<ConsultationReport>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            }
            catch (Exception exception) when (exception is IOException or InvalidJsonException or InvalidProtocolBufferException)
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
                return 2;
            }
            var folder = result.GetValue(data)!;
            if (!File.Exists(Path.Combine(folder, "spoke.db")))
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: no spoke database in {Markup.Escape(Path.GetFullPath(folder))}");
                return 2;
            }
            var options = Options.Create(new SpokeOptions { DataFolder = folder });
            var keys = await new ReportSigningKeyStore(new SpokeDatabase(options), TimeProvider.System, NullLogger<ReportSigningKeyStore>.Instance).LoadAsync(cancellationToken);
            var check = await ReportSignatures.VerifyAsync(report, keys);
            AnsiConsole.MarkupLine($"Report v{report.Version} of consultation {Markup.Escape(report.ConsultationId)}: " +
                (check.Status == SignatureStatus.Valid ? "[green]" : "[red]") + Markup.Escape(ConsultationPrinter.Signature(check)) + "[/]");
            return check.Status == SignatureStatus.Valid ? 0 : 1;
        });
        return command;
    }
}
