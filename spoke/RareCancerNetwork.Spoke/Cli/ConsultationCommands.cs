using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Polly;
using Polly.Retry;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>The pathologist's commands: submit from a JSON file, list, show one, watch its status.</summary>
internal static class ConsultationCommands
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static Command Submit(Func<ParseResult, LocalApiConnection> connect)
    {
        var file = new Option<FileInfo>("--file") { Description = "SubmitConsultationRequest as JSON (proto field names)", Required = true };
        var command = new Command("submit", "Submit a consultation from a JSON file. A missing consultation_id is generated (UUIDv7).") { file };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var request = Parser.Parse<SubmitConsultationRequest>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            if (string.IsNullOrEmpty(request.ConsultationId))
            {
                request.ConsultationId = Guid.CreateVersion7().ToString("D");
            }
            await using var connection = connect(result);
            // Retrying with the same consultation_id is safe: the spoke applies it once.
            var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded),
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            }).Build();
            var response = await retry.ExecuteAsync(async token =>
                await connection.Consultations.SubmitConsultationAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: token), cancellationToken);
            AnsiConsole.MarkupLine(response.Duplicate
                ? $"Already submitted: [bold]{response.Consultation.ConsultationId}[/]"
                : $"[green]Submitted[/] [bold]{response.Consultation.ConsultationId}[/]: stored at the spoke, queued for the hub.");
            ConsultationPrinter.Summary(response.Consultation);
        }));
        return command;
    }

    public static Command List(Func<ParseResult, LocalApiConnection> connect)
    {
        var status = new Option<string?>("--status") { Description = "Only this status, e.g. reported" };
        var command = new Command("list", "List this facility's consultations, newest first.") { status };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var request = new ListConsultationsRequest { PageSize = 200, Status = ConsultationPrinter.ParseStatus(result.GetValue(status)) };
            var rows = new List<LocalConsultation>();
            do
            {
                var page = await connection.Consultations.ListConsultationsAsync(request, cancellationToken: cancellationToken);
                rows.AddRange(page.Consultations);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            ConsultationPrinter.Table(rows);
        }));
        return command;
    }

    public static Command Show(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var command = new Command("show", "Show one consultation with its status and reports.") { id };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Consultations.GetConsultationAsync(new() { ConsultationId = result.GetValue(id) }, cancellationToken: cancellationToken);
            ConsultationPrinter.Full(response.Consultation);
        }));
        return command;
    }

    public static Command Watch(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var interval = new Option<int>("--interval") { Description = "Seconds between checks", DefaultValueFactory = _ => 5 };
        var command = new Command("watch", "Follow a consultation's status until it is reported (Ctrl+C stops).") { id, interval };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var last = ConsultationStatus.Unspecified;
            await AnsiConsole.Status().StartAsync("Waiting for the hub...", async context =>
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var consultation = (await connection.Consultations.GetConsultationAsync(new() { ConsultationId = result.GetValue(id) }, cancellationToken: cancellationToken)).Consultation;
                    if (consultation.Status != last)
                    {
                        last = consultation.Status;
                        AnsiConsole.MarkupLine($"{ConsultationPrinter.Time(consultation.UpdatedAt)}  {ConsultationPrinter.StatusName(last)}");
                        context.Status($"{ConsultationPrinter.StatusName(last)} — waiting for the next change...");
                    }
                    if (last is ConsultationStatus.Reported or ConsultationStatus.Rejected or ConsultationStatus.Withdrawn or ConsultationStatus.Acknowledged)
                    {
                        ConsultationPrinter.Full(consultation);
                        return;
                    }
                    await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, result.GetValue(interval))), cancellationToken);
                }
            });
        }));
        return command;
    }
}
