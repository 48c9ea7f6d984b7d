using System.Reflection;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Protos.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>Console rendering of consultations; instants in Japan time.</summary>
internal static class ConsultationPrinter
{
    public static string Time(Timestamp? instant) => instant is null ? "" : JapanTime.Format(instant.ToDateTimeOffset());

    public static string StatusName(ConsultationStatus status) => EnumName(status, "CONSULTATION_STATUS_");

    public static ConsultationStatus ParseStatus(string? name) => string.IsNullOrWhiteSpace(name)
        ? ConsultationStatus.Unspecified
        : System.Enum.GetValues<ConsultationStatus>().FirstOrDefault(s => StatusName(s) == name.Trim().ToLowerInvariant()) is var status && status != ConsultationStatus.Unspecified
            ? status
            : throw new InvalidDataException($"Unknown status '{name}'. Use one of: {string.Join(", ", System.Enum.GetValues<ConsultationStatus>().Skip(1).Select(StatusName))}.");

    public static void Table(IReadOnlyList<LocalConsultation> consultations)
    {
        // Ids are copied into other commands: never wrap them.
        var table = new Table().AddColumn(new TableColumn("id").NoWrap()).AddColumns("patient", "organ system", "local diagnosis", "status", "delivery", "submitted (JST)", "reports");
        foreach (var c in consultations)
        {
            table.AddRow(c.ConsultationId, Markup.Escape(c.LocalPatientId), EnumName(c.Details.OrganSystem, "ORGAN_SYSTEM_"),
                Markup.Escape(c.Details.LocalDiagnosis?.MorphologyCode ?? ""), StatusName(c.Status), EnumName(c.DeliveryState, "DELIVERY_STATE_"),
                Time(c.SubmittedAt), c.Reports.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{consultations.Count} consultation(s)");
    }

    public static void Summary(LocalConsultation c) =>
        AnsiConsole.MarkupLine($"status [bold]{StatusName(c.Status)}[/], delivery {EnumName(c.DeliveryState, "DELIVERY_STATE_")}, submitted {Time(c.SubmittedAt)}");

    public static void Full(LocalConsultation c)
    {
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string label, string value) => grid.AddRow($"[grey]{label}[/]", Markup.Escape(value));
        Row("consultation", c.ConsultationId);
        Row("patient (local id)", c.LocalPatientId);
        Row("status", StatusName(c.Status));
        Row("delivery", EnumName(c.DeliveryState, "DELIVERY_STATE_") + (c.DeliveryError.Length > 0 ? $" — {c.DeliveryError}" : ""));
        Row("submitted", $"{Time(c.SubmittedAt)} by {c.SubmittedBy}");
        Row("organ system", EnumName(c.Details.OrganSystem, "ORGAN_SYSTEM_"));
        Row("specimen", $"{c.Details.Specimen?.TopographyCode} {c.Details.Specimen?.SiteDescription} ({c.Details.Specimen?.CollectionDate})");
        Row("local diagnosis", $"{c.Details.LocalDiagnosis?.Text} [{c.Details.LocalDiagnosis?.MorphologyCode}]");
        Row("question", c.Details.Question);
        AnsiConsole.Write(grid);
        foreach (var report in c.Reports)
        {
            var panel = new Panel(new Markup(Markup.Escape(
                $"{report.Diagnosis.Text} [{report.Diagnosis.MorphologyCode}]\n" +
                $"concordance: {EnumName(report.Concordance, "CONCORDANCE_")}\n" +
                $"recommended: {string.Join(", ", report.RecommendedAncillaryTests)}\n" +
                (report.Comment.Length > 0 ? $"comment: {report.Comment}\n" : "") +
                (report.AmendmentReason.Length > 0 ? $"amendment: {report.AmendmentReason}\n" : "") +
                $"signed by {report.SignedByName} ({report.SignedByExpertId}) at {Time(report.SignedAt)}\nsha256 {report.ContentSha256}")))
            {
                Header = new PanelHeader($"Report v{report.Version}"),
            };
            AnsiConsole.Write(panel);
        }
    }

    private static string EnumName<TEnum>(TEnum value, string prefix) where TEnum : struct, System.Enum =>
        typeof(TEnum).GetField(value.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name is { } name && name.StartsWith(prefix, StringComparison.Ordinal)
            ? name[prefix.Length..].ToLowerInvariant()
            : value.ToString();
}
