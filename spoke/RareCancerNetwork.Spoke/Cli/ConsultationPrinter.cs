using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Node.Attachments;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>Console rendering of consultations; instants in Japan time.</summary>
internal static class ConsultationPrinter
{
    public static string Time(Timestamp? instant) => instant is null ? "" : JapanTime.Format(instant.ToDateTimeOffset());

    public static string StatusName(ConsultationStatus status) => ProtoEnumNames.Name(status);

    public static ConsultationStatus ParseStatus(string? name) => string.IsNullOrWhiteSpace(name)
        ? ConsultationStatus.Unspecified
        : ProtoEnumNames.Parse<ConsultationStatus>(name)
            ?? throw new InvalidDataException($"Unknown status '{name}'. Use one of: {string.Join(", ", ProtoEnumNames.All<ConsultationStatus>())}.");

    public static void Table(IReadOnlyList<LocalConsultation> consultations)
    {
        // Ids are copied into other commands: never wrap them.
        var table = new Table().AddColumn(new TableColumn("id").NoWrap()).AddColumns("patient", "organ system", "local diagnosis", "status", "delivery", "submitted (JST)", "reports");
        foreach (var c in consultations)
        {
            table.AddRow(c.ConsultationId, Markup.Escape(c.LocalPatientId), ProtoEnumNames.Name(c.Details.OrganSystem),
                Markup.Escape(c.Details.LocalDiagnosis?.MorphologyCode ?? ""), StatusName(c.Status), ProtoEnumNames.Name(c.DeliveryState),
                Time(c.SubmittedAt), c.Reports.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{consultations.Count} consultation(s)");
    }

    public static void Summary(LocalConsultation c) =>
        AnsiConsole.MarkupLine($"status [bold]{StatusName(c.Status)}[/], delivery {ProtoEnumNames.Name(c.DeliveryState)}, submitted {Time(c.SubmittedAt)}" +
            (c.QueuePosition > 0 ? $"; [yellow]waiting for an expert, place {c.QueuePosition} in the queue[/]" : ""));

    /// <summary>Each attached file and how far it has travelled: held at the spoke, then at the hub (where experts download it).</summary>
    public static void Attachments(IReadOnlyList<AttachmentTransfer> files)
    {
        if (files.Count == 0)
        {
            return;
        }
        var table = new Table().AddColumns("file", "type", "size", "at this spoke", "at the hub", "for");
        foreach (var file in files)
        {
            table.AddRow(Markup.Escape(file.File.FileName), Markup.Escape(file.File.MediaType), Markup.Escape(AttachmentOptions.Bytes(file.File.SizeBytes)),
                Progress(file.SpokeReceivedBytes, file.File.SizeBytes, "upload it with 'spoke attach'"),
                AtHub(file),
                file.RequestId.Length > 0 ? "an answer" : "the consultation");
        }
        AnsiConsole.Write(table);
    }

    private static string AtHub(AttachmentTransfer file) => file.DeliveryState switch
    {
        _ when file.Available => "[green]whole[/]",
        DeliveryState.Rejected => $"[red]refused: {Markup.Escape(file.DeliveryError)}[/]",
        DeliveryState.Parked => $"[red]parked ('spoke outbox resend'): {Markup.Escape(file.DeliveryError)}[/]",
        DeliveryState.Unspecified => "[grey]not queued[/]",
        _ => Progress(file.HubReceivedBytes, file.File.SizeBytes, "queued"),
    };

    private static string Progress(long held, long size, string none) => held >= size ? "[green]whole[/]"
        : held == 0 ? $"[yellow]{Markup.Escape(none)}[/]"
        : $"[yellow]{(100.0 * held / size).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}%[/]";

    /// <summary>What a person must know of a report's signature; an invalid one is said plainly.</summary>
    public static string Signature(ReportSignatureCheck? check) => check?.Status switch
    {
        SignatureStatus.Valid => $"valid — {check.Detail}",
        SignatureStatus.Invalid => $"INVALID — do not rely on this report. {check.Detail}",
        SignatureStatus.UnknownKey => $"not verified yet — {check.Detail}",
        SignatureStatus.Missing => $"MISSING — {check.Detail}",
        _ => "not checked",
    };

    public static void Full(LocalConsultation c)
    {
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string label, string value) => grid.AddRow($"[grey]{label}[/]", Markup.Escape(value));
        Row("consultation", c.ConsultationId);
        Row("patient (local id)", c.LocalPatientId);
        Row("status", StatusName(c.Status) + (c.QueuePosition > 0 ? $" — waiting for an expert, place {c.QueuePosition} in the queue" : "")
            + (c.Status == ConsultationStatus.AwaitingAttachments ? $" — the hub waits for {c.Attachments.Count(a => !a.Available && a.RequestId.Length == 0)} attached file(s) before offering it to an expert" : ""));
        Row("delivery", ProtoEnumNames.Name(c.DeliveryState) + (c.DeliveryError.Length > 0 ? $" — {c.DeliveryError}" : ""));
        Row("submitted", $"{Time(c.SubmittedAt)} by {c.SubmittedBy}");
        Row("organ system", ProtoEnumNames.Name(c.Details.OrganSystem));
        Row("specimen", $"{c.Details.Specimen?.TopographyCode} {c.Details.Specimen?.SiteDescription} ({c.Details.Specimen?.CollectionDate})");
        Row("local diagnosis", $"{c.Details.LocalDiagnosis?.Text} [{c.Details.LocalDiagnosis?.MorphologyCode}]");
        Row("question", c.Details.Question);
        if (c.WithdrawalReason.Length > 0)
        {
            Row("withdrawn", c.WithdrawalReason);
        }
        if (c.AcknowledgedVersion > 0)
        {
            Row("acknowledged", $"report v{c.AcknowledgedVersion}, first at {Time(c.AcknowledgedAt)}");
        }
        AnsiConsole.Write(grid);
        Attachments(c.Attachments);
        foreach (var step in c.Timeline)
        {
            AnsiConsole.MarkupLine($"  {Time(step.OccurredAt)}  {Markup.Escape(ProtoEnumNames.Name(step.Kind))}" +
                (step.ExpertId.Length > 0 ? $" ({Markup.Escape(step.ExpertId)})" : "") +
                (step.QueuePosition > 0 ? $", place {step.QueuePosition} in the queue" : "") +
                (step.Detail.Length > 0 ? $": {Markup.Escape(step.Detail)}" : "") + $" — {Markup.Escape(step.Actor)}");
        }
        foreach (var request in c.InformationRequests)
        {
            AnsiConsole.MarkupLine($"[bold]Information requested[/] {Time(request.AskedAt)} by {Markup.Escape(request.AskedByName)}: {Markup.Escape(request.Question)}");
            AnsiConsole.MarkupLine(request.AnsweredAt is null
                ? $"  [yellow]open[/] — answer with: spoke answer {c.ConsultationId} --request {request.RequestId} --answer \"…\""
                : $"  answered {Time(request.AnsweredAt)} by {Markup.Escape(request.AnsweredBy)}: {Markup.Escape(request.Answer)}");
        }
        foreach (var report in c.Reports)
        {
            var check = c.SignatureChecks.FirstOrDefault(s => s.Version == report.Version);
            var panel = new Panel(new Markup(Markup.Escape(
                $"{report.Diagnosis.Text} [{report.Diagnosis.MorphologyCode}]\n" +
                $"concordance: {ProtoEnumNames.Name(report.Concordance)}\n" +
                $"recommended: {string.Join(", ", report.RecommendedAncillaryTests)}\n" +
                (report.Comment.Length > 0 ? $"comment: {report.Comment}\n" : "") +
                (report.AmendmentReason.Length > 0 ? $"amendment: {report.AmendmentReason}\n" : "") +
                $"signed by {report.SignedByName} ({report.SignedByExpertId}) at {Time(report.SignedAt)}\n" +
                (report.ReviewedByExpertId.Length > 0 ? $"second review: {report.ReviewedByName} ({report.ReviewedByExpertId}) at {Time(report.ReviewedAt)}\n" : "") +
                $"sha256 {report.ContentSha256}\n" +
                $"hub signature: {Signature(check)}")))
            {
                Header = new PanelHeader($"Report v{report.Version}"),
                BorderStyle = check?.Status is SignatureStatus.Invalid or SignatureStatus.Missing ? new Style(Color.Red) : Style.Plain,
            };
            AnsiConsole.Write(panel);
        }
    }
}
