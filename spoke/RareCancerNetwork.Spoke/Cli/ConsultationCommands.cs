using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Polly;
using Polly.Retry;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>The pathologist's commands: submit from a JSON file, list, show one, watch its status.</summary>
internal static class ConsultationCommands
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON (proto field names) instead of a table, for scripts" };

    public static Command Submit(Func<ParseResult, LocalApiConnection> connect)
    {
        var file = new Option<FileInfo>("--file") { Description = "SubmitConsultationRequest as JSON (proto field names)", Required = true };
        var json = JsonOption();
        var attach = AttachmentCommands.AttachOption();
        var command = new Command("submit",
            "Submit a consultation from a JSON file, with its slide images and other files (--attach: described in the consultation, then uploaded). " +
            "A missing consultation_id is generated (UUIDv7). Running the same command again is safe: the spoke recognises the same patient and " +
            "content, returns the consultation it already holds, and the upload resumes where it stopped.") { file, json, attach };
        command.SetAction(async (result, cancellationToken) =>
        {
            SubmitConsultationRequest request;
            try
            {
                request = Parser.Parse<SubmitConsultationRequest>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            }
            catch (Exception exception) when (exception is IOException or InvalidJsonException or InvalidProtocolBufferException)
            {
                AnsiConsole.MarkupLine($"[red]Not stored[/]: the file could not be read ({Markup.Escape(exception.Message)}).");
                return 1;
            }
            if (string.IsNullOrEmpty(request.ConsultationId))
            {
                request.ConsultationId = Guid.CreateVersion7().ToString("D");
            }
            var attachFiles = result.GetValue(attach) ?? [];
            List<AttachmentDescriptor> attachments;
            try
            {
                attachments = await AttachmentCommands.DescribeAsync(attachFiles, cancellationToken, quiet: result.GetValue(json));
            }
            catch (Exception exception) when (exception is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                AnsiConsole.MarkupLine($"[red]Not stored[/]: an attached file could not be read ({Markup.Escape(exception.Message)}).");
                return 1;
            }
            request.Details ??= new ConsultationDetails();
            request.Details.Attachments.AddRange(attachments.Where(a => request.Details.Attachments.All(d => d.Sha256Hex != a.Sha256Hex)));
            try
            {
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
                // Stored: now the files' bytes (json output stays one document, so the bars go only to a person).
                var upload = attachFiles.Zip(attachments).ToList();
                if (result.GetValue(json))
                {
                    await AttachmentCommands.UploadQuietlyAsync(connection, response.Consultation.ConsultationId, upload, cancellationToken);
                    ConsoleOutput.WriteJson(response);
                    return 0;
                }
                await AttachmentCommands.UploadAsync(connection, response.Consultation.ConsultationId, upload, cancellationToken);
                AnsiConsole.MarkupLine(response.Duplicate
                    ? $"Already submitted as [bold]{response.Consultation.ConsultationId}[/]: nothing new was stored."
                    : $"[green]Submitted[/] [bold]{response.Consultation.ConsultationId}[/]: stored at the spoke, queued for the hub.");
                ConsultationPrinter.Summary(response.Consultation);
                return 0;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied
                or StatusCode.Unauthenticated or StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted)
            {
                // The spoke answered and refused: nothing was stored.
                AnsiConsole.MarkupLine($"[red]Not stored[/] ({Markup.Escape(exception.StatusCode.ToString())}): {Markup.Escape(exception.Status.Detail)}");
                return 1;
            }
            catch (Exception exception) when (exception is RpcException or IOException or HttpRequestException
                or OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException or InvalidOperationException or InvalidDataException)
            {
                var reason = exception is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : exception.Message;
                AnsiConsole.MarkupLine($"[yellow]Unknown whether consultation [bold]{request.ConsultationId}[/] was stored[/]: {Markup.Escape(reason)}");
                AnsiConsole.MarkupLine("Run the same command again when the spoke is reachable: it is safe, a stored consultation is returned, not duplicated.");
                return 1;
            }
        });
        return command;
    }

    public static Command List(Func<ParseResult, LocalApiConnection> connect)
    {
        var status = new Option<string?>("--status") { Description = "Only this status: " + string.Join(", ", ProtoEnumNames.All<ConsultationStatus>()) };
        var json = JsonOption();
        var command = new Command("list", "List this facility's consultations, newest first.") { status, json };
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
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(new ListConsultationsResponse { Consultations = { rows } });
                return;
            }
            ConsultationPrinter.Table(rows);
        }));
        return command;
    }

    public static Command Show(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var json = JsonOption();
        var export = new Option<FileInfo?>("--export-report") { Description = "Also write a report version, with the hub's signature, to this JSON file ('verify-report' checks it)" };
        var version = new Option<int?>("--version") { Description = "The report version to export (default: the latest)" };
        var command = new Command("show", "Show one consultation with its status, delivery state and reports, each with its signature checked.") { id, json, export, version };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Consultations.GetConsultationAsync(new() { ConsultationId = result.GetValue(id) }, cancellationToken: cancellationToken);
            if (result.GetValue(export) is { } file)
            {
                var wanted = result.GetValue(version);
                var report = response.Consultation.Reports.LastOrDefault(r => wanted is null || r.Version == wanted)
                    ?? throw new InvalidDataException(wanted is null ? "The consultation has no report yet." : $"The consultation has no report version {wanted}.");
                await File.WriteAllTextAsync(file.FullName, ConsoleOutput.ToJson(report), cancellationToken);
                AnsiConsole.MarkupLine($"Report v{report.Version} written to {Markup.Escape(file.FullName)}.");
            }
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(response.Consultation);
                return;
            }
            ConsultationPrinter.Full(response.Consultation);
        }));
        return command;
    }

    public static Command Withdraw(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var reason = new Option<string>("--reason") { Description = "Why it is withdrawn (the expert reads it)", Required = true };
        var command = new Command("withdraw", "Withdraw a consultation before any report; the expert can then no longer report.") { id, reason };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Consultations.WithdrawConsultationAsync(new() { ConsultationId = result.GetValue(id), Reason = result.GetValue(reason)! },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine("[green]Withdrawn[/]; the hub hears of it through the outbox.");
            ConsultationPrinter.Summary(response.Consultation);
        }));
        return command;
    }

    public static Command Acknowledge(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var version = new Option<int>("--version") { Description = "The report version read (default: the latest)" };
        var command = new Command("acknowledge", "Acknowledge reading the consultation's report (its latest version).") { id, version };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Consultations.AcknowledgeReportAsync(new() { ConsultationId = result.GetValue(id), ReportVersion = result.GetValue(version) },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]Report v{response.Consultation.AcknowledgedVersion} acknowledged[/]; the hub hears of it through the outbox.");
            ConsultationPrinter.Summary(response.Consultation);
        }));
        return command;
    }

    public static Command Answer(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("consultation-id");
        var requestId = new Option<string?>("--request") { Description = "The request to answer (default: the open one)" };
        var answer = new Option<string>("--answer") { Description = "The answer for the expert", Required = true };
        var attach = AttachmentCommands.AttachOption();
        var command = new Command("answer",
            "Answer the expert's request for more information, with files (--attach: extra stains, photos); the consultation returns to the expert.") { id, requestId, answer, attach };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var consultationId = result.GetValue(id)!;
            var open = result.GetValue(requestId) ?? (await connection.Consultations.GetConsultationAsync(new() { ConsultationId = consultationId }, cancellationToken: cancellationToken))
                .Consultation.InformationRequests.LastOrDefault(r => r.AnsweredAt is null)?.RequestId
                ?? throw new InvalidDataException("The consultation has no open information request.");
            var files = result.GetValue(attach) ?? [];
            var attachments = await AttachmentCommands.DescribeAsync(files, cancellationToken);
            var response = await connection.Consultations.AnswerInformationRequestAsync(new()
            {
                ConsultationId = consultationId, RequestId = open, Answer = result.GetValue(answer)!, Attachments = { attachments },
            }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine("[green]Answered[/]; the hub hears of it through the outbox.");
            await AttachmentCommands.UploadAsync(connection, consultationId, files.Zip(attachments).ToList(), cancellationToken);
            ConsultationPrinter.Summary(response.Consultation);
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
