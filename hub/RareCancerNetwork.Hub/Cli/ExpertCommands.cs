using System.CommandLine;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using OpenIddict.Client;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// The expert pathologist's commands against a running hub: list assigned cases, show one, and
/// sign a report from a JSON file. Credentials come from 'register-expert --write-config'.
/// </summary>
internal static class ExpertCommands
{
    private sealed record ExpertProfile(string HubUrl, string? HubCaCertificatePath, string ClientId, string ClientSecret);

    public static Command Create()
    {
        var profile = new Option<FileInfo?>("--profile") { Description = "Expert client profile written by 'register-expert --write-config' (automation)", Recursive = true };
        var session = new Option<FileInfo>("--session")
        {
            Description = "Signed-in session from 'login' (used when present; env RCN_SESSION)",
            DefaultValueFactory = _ => new FileInfo(Environment.GetEnvironmentVariable("RCN_SESSION") ?? ".rcn/session.json"),
            Recursive = true,
        };
        var expert = new Command("expert", "Expert pathologist commands against a running hub: sign in with 'login', or use a client profile.") { profile, session };
        Func<ParseResult, Func<ExpertConsultationService.ExpertConsultationServiceClient, Task>, Task<int>> withClientAsync =
            (result, action) => WithClientAsync(result.GetValue(session)!, result.GetValue(profile), action);

        var list = new Command("list", "List consultations assigned to you.");
        list.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var response = await client.ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: cancellationToken);
            // Ids are copied into other commands: never wrap them.
            var table = new Table().AddColumn(new TableColumn("id").NoWrap()).AddColumns("facility", "organ system", "local diagnosis", "urgency", "status", "received (JST)", "reports");
            foreach (var c in response.Consultations)
            {
                table.AddRow(c.ConsultationId, c.RequestingFacilityCode, c.Details.OrganSystem.ToString(), Markup.Escape(c.Details.LocalDiagnosis.MorphologyCode),
                    c.Details.Urgency.ToString(), c.Status.ToString(), JapanTime.Format(c.ReceivedAt.ToDateTimeOffset()), c.Reports.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
        }));

        var id = new Argument<string>("consultation-id");
        var show = new Command("show", "Show an assigned consultation (as JSON).") { id };
        show.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var response = await client.GetAssignedConsultationAsync(new() { ConsultationId = result.GetValue(id) }, cancellationToken: cancellationToken);
            Console.WriteLine(JsonFormatter.Default.Format(response.Consultation));
        }));

        var reportId = new Argument<string>("consultation-id");
        var file = new Option<FileInfo>("--file") { Description = "SubmitReportRequest as JSON (consultation_id is taken from the argument)", Required = true };
        var report = new Command("report", "Sign and issue a report (or an amendment: set replaces_version and amendment_reason).") { reportId, file };
        report.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var request = JsonParser.Default.Parse<SubmitReportRequest>(await File.ReadAllTextAsync(result.GetValue(file)!.FullName, cancellationToken));
            request.ConsultationId = result.GetValue(reportId)!;
            var response = await client.SubmitReportAsync(request, cancellationToken: cancellationToken);
            if (response.ReviewerExpertId.Length > 0)
            {
                AnsiConsole.MarkupLine($"[green]Report v{response.Report.Version} held[/] for the second review of {Markup.Escape(response.ReviewerExpertId)}; it is released when they approve it.");
                return;
            }
            AnsiConsole.MarkupLine($"[green]Report v{response.Report.Version} signed[/] by {Markup.Escape(response.Report.SignedByName)} at {JapanTime.Format(response.Report.SignedAt.ToDateTimeOffset())}; sha256 {response.Report.ContentSha256}");
        }));

        var askId = new Argument<string>("consultation-id");
        var question = new Option<string>("--question") { Description = "What is needed, e.g. \"CD34 と STAT6 の免疫染色を追加してください\"", Required = true };
        var ask = new Command("ask", "Ask the requesting facility for more information; the consultation waits for its answer.") { askId, question };
        ask.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var response = await client.RequestInformationAsync(new()
            {
                ConsultationId = result.GetValue(askId)!, RequestId = Guid.CreateVersion7().ToString(), Question = result.GetValue(question)!,
            }, cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine($"[green]Asked[/] (request {response.Request.RequestId}); the facility's spoke receives it through its feed.");
        }));

        expert.Subcommands.Add(list);
        expert.Subcommands.Add(show);
        expert.Subcommands.Add(report);
        expert.Subcommands.Add(ask);

        var declineId = new Argument<string>("consultation-id");
        var reason = new Option<string>("--reason") { Description = "out_of_specialty, conflict_of_interest, over_capacity or other", Required = true };
        var comment = new Option<string?>("--comment") { Description = "Required with 'other'" };
        var decline = new Command("decline", "Decline an assigned consultation; it goes to the next expert of its organ system, or waits for one.") { declineId, reason, comment };
        decline.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var parsed = Node.CommandLine.ProtoEnumNames.Parse<DeclineReason>(result.GetValue(reason))
                ?? throw new InvalidDataException($"--reason must be one of: {string.Join(", ", Node.CommandLine.ProtoEnumNames.All<DeclineReason>())}");
            var response = await client.DeclineConsultationAsync(new() { ConsultationId = result.GetValue(declineId)!, Reason = parsed, Comment = result.GetValue(comment) ?? "" },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine(response.NextExpertId.Length > 0 ? $"[green]Declined[/]; it went to {Markup.Escape(response.NextExpertId)}."
                : "[green]Declined[/]; no other expert can take it now, so it waits (administrators see it in 'consultations waiting').");
        }));
        expert.Subcommands.Add(decline);

        var reviews = new Command("reviews", "List the reports of major discordance waiting for your second review (as JSON).");
        reviews.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
            Console.WriteLine(JsonFormatter.Default.Format(await client.ListSecondReviewsAsync(new(), cancellationToken: cancellationToken)))));
        var reviewId = new Argument<string>("consultation-id");
        var approve = new Option<bool>("--approve") { Description = "Release the report, co-signed by you" };
        var returnIt = new Option<string?>("--return") { Description = "Return it to its author with this comment" };
        var review = new Command("review", "Decide on a report held for your second review: --approve, or --return \"comment\".") { reviewId, approve, returnIt };
        review.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var returned = result.GetValue(returnIt);
            if (result.GetValue(approve) == (returned is not null))
            {
                throw new InvalidDataException("Give either --approve or --return \"comment\".");
            }
            var response = await client.ReviewReportAsync(new() { ConsultationId = result.GetValue(reviewId)!, Approve = returned is null, Comment = returned ?? "" },
                cancellationToken: cancellationToken);
            AnsiConsole.MarkupLine(response.Report is { } released
                ? $"[green]Released[/] report v{released.Version}, signed by {Markup.Escape(released.SignedByName)} and reviewed by {Markup.Escape(released.ReviewedByName)}."
                : "[green]Returned[/] to its author.");
        }));
        expert.Subcommands.Add(reviews);
        expert.Subcommands.Add(review);
        expert.Subcommands.Add(Download(withClientAsync));
        return expert;
    }

    private static Command Download(Func<ParseResult, Func<ExpertConsultationService.ExpertConsultationServiceClient, Task>, Task<int>> withClientAsync)
    {
        var id = new Argument<string>("consultation-id");
        var file = new Option<string?>("--file") { Description = "Only this file: its name or SHA-256 (default: every file the hub holds whole)" };
        var to = new Option<DirectoryInfo>("--to") { Description = "Folder to write the files into", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var command = new Command("download",
            "Download a consultation's slide images and other files, with progress bars; an interrupted download resumes where it stopped " +
            "(its bytes wait in <name>.part), and every file is checked against its SHA-256.") { id, file, to };
        command.SetAction((result, cancellationToken) => withClientAsync(result, async client =>
        {
            var consultationId = result.GetValue(id)!;
            var consultation = (await client.GetAssignedConsultationAsync(new() { ConsultationId = consultationId }, cancellationToken: cancellationToken)).Consultation;
            var wanted = result.GetValue(file);
            var chosen = consultation.Attachments
                .Where(a => wanted is null || a.File.Sha256Hex == wanted || a.File.FileName == wanted)
                .DistinctBy(a => a.File.Sha256Hex).ToList();
            if (chosen.Count == 0)
            {
                throw new InvalidDataException(wanted is null ? "The consultation has no attached files." : $"The consultation has no file '{wanted}'.");
            }
            foreach (var waiting in chosen.Where(a => !a.Available))
            {
                AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(waiting.File.FileName)}[/] is still on its way to the hub " +
                    $"({waiting.HubReceivedBytes:N0} of {waiting.File.SizeBytes:N0} bytes); download it once it is whole.");
            }
            var ready = chosen.Where(a => a.Available).ToList();
            var folder = result.GetValue(to)!;
            folder.Create();
            await TransferProgress.RunAsync(ready.Select(a => (a.File.FileName, a.File.SizeBytes)).ToList(), async (i, done) =>
            {
                var descriptor = ready[i].File;
                // Note: the file name came from another institution: only its last segment is used, so it cannot climb out of the folder.
                var target = Path.Combine(folder.FullName, Path.GetFileName(descriptor.FileName.Replace('\\', '/')));
                await AttachmentDownload.ToFileAsync(descriptor, target,
                    offset => AttachmentDownload.FromHubAsync(client, consultationId, descriptor.Sha256Hex, offset, cancellationToken),
                    bytes => done(bytes), cancellationToken);
            });
            foreach (var a in ready)
            {
                AnsiConsole.MarkupLine($"[green]{Markup.Escape(a.File.FileName)}[/]: {a.File.SizeBytes:N0} bytes, SHA-256 verified, in {Markup.Escape(folder.FullName)}");
            }
        }));
        return command;
    }

    private static async Task<int> WithClientAsync(FileInfo sessionFile, FileInfo? profileFile, Func<ExpertConsultationService.ExpertConsultationServiceClient, Task> action)
    {
        try
        {
            if (profileFile is null)
            {
                var session = PersonSession.Load(sessionFile.FullName)
                    ?? throw new InvalidDataException("Not signed in: run 'login' first, or give --profile.");
                using var sessionChannel = HubClientRegistration.CreateChannel(session.HubUrl, session.HubCaCertificatePath, session.AccessTokenAsync);
                await action(new ExpertConsultationService.ExpertConsultationServiceClient(sessionChannel));
                return 0;
            }
            var profile = JsonSerializer.Deserialize<ExpertProfile>(await File.ReadAllTextAsync(profileFile.FullName))
                ?? throw new InvalidDataException($"The profile {profileFile.FullName} is empty.");
            await using var services = new ServiceCollection().AddLogging()
                .AddHubTokenClient(profile.HubUrl, profile.HubCaCertificatePath, profile.ClientId, profile.ClientSecret)
                .BuildServiceProvider();
            var tokens = new HubTokenSource(services.GetRequiredService<OpenIddictClientService>(), [NetworkClaims.Scopes.Expert], TimeProvider.System);
            using var channel = HubClientRegistration.CreateChannel(profile.HubUrl, profile.HubCaCertificatePath, tokens.GetAsync);
            await action(new ExpertConsultationService.ExpertConsultationServiceClient(channel));
            return 0;
        }
        catch (RpcException exception)
        {
            AnsiConsole.MarkupLine($"[red]{exception.StatusCode}[/]: {Markup.Escape(exception.Status.Detail)}");
            return 1;
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or JsonException or InvalidJsonException
            or OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
            return 1;
        }
    }
}
