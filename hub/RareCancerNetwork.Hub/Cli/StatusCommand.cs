using System.CommandLine;
using System.Globalization;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// <c>hub status</c>: the hub at a glance for its administrators, against its store — and what needs a person now:
/// consultations waiting for an expert (with the oldest's age) and reports waiting for a second review.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task<int>>, CancellationToken, Task<int>> withHub)
    {
        var failAfter = new Option<double?>("--fail-after-days")
        {
            Description = "Exit with code 3 when a consultation has waited for an expert longer than this (for monitoring)",
        };
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts and monitoring" };
        var command = new Command("status", "The hub at a glance: spokes, experts, the directory, and what waits for a person.") { failAfter, json };
        command.SetAction((result, cancellationToken) => withHub(result, async (services, options, token) =>
        {
            var database = services.GetRequiredService<HubDatabase>();
            long spokes, experts, openCases, capacity, reviews, directoryVersion;
            var byStatus = new List<(ConsultationStatus Status, long Count)>();
            await using (var connection = await database.OpenAsync(token))
            {
                spokes = await ScalarAsync(connection, "SELECT COUNT(*) FROM spoke_nodes WHERE revoked_at IS NULL", token);
                experts = await ScalarAsync(connection, "SELECT COUNT(*) FROM experts WHERE active = 1", token);
                openCases = await ScalarAsync(connection, "SELECT COALESCE(SUM(open_cases), 0) FROM experts WHERE active = 1", token);
                capacity = await ScalarAsync(connection, "SELECT COALESCE(SUM(capacity), 0) FROM experts WHERE active = 1", token);
                reviews = await ScalarAsync(connection, "SELECT COUNT(*) FROM report_reviews WHERE decision IS NULL", token);
                directoryVersion = await DirectoryPublisher.VersionAsync(connection, token);
                await using var command = connection.Command("SELECT status, COUNT(*) FROM consultations GROUP BY status ORDER BY status");
                await using var reader = await command.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    byStatus.Add(((ConsultationStatus)reader.GetInt32(0), reader.GetInt64(1)));
                }
            }
            var waiting = await services.GetRequiredService<ConsultationStore>().WaitingAsync(token);
            var awaitingFiles = await services.GetRequiredService<HubAttachments>().AwaitingAsync(token);
            var spokeStatus = await services.GetRequiredService<Sync.SpokeSyncStatusStore>().ListAsync(token);
            var oldestWait = waiting.Count == 0 ? (TimeSpan?)null : DateTimeOffset.UtcNow - waiting.Min(w => w.ReceivedAt);
            var exitCode = result.GetValue(failAfter) is { } limit && oldestWait?.TotalDays > limit ? 3 : 0;
            if (result.GetValue(json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    store = options.Storage.Provider.ToString(),
                    spokeNodes = spokes,
                    experts = new { active = experts, openCases, capacity },
                    directoryVersion,
                    consultations = byStatus.ToDictionary(s => ProtoEnumNames.Name(s.Status), s => s.Count),
                    secondReviewsPending = reviews,
                    awaitingAttachedFiles = awaitingFiles.Count,
                    waitingForAnExpert = new { count = waiting.Count, oldestWaitHours = oldestWait?.TotalHours },
                    spokes = spokeStatus.Select(s => new
                    {
                        nodeId = s.NodeId, facility = s.FacilityCode, lastReport = s.LastContact?.ToDateTimeOffset(), outboxPending = s.OutboxPending,
                        oldestPending = s.OldestPendingAt?.ToDateTimeOffset(), refused = s.Refused, parked = s.Parked, feedBacklog = s.FeedBacklog,
                        auditForwardingLag = s.AuditForwardingLag, contractVersion = s.ContractVersion, schemaVersion = s.SchemaVersion,
                    }),
                }));
                return exitCode;
            }
            var grid = new Grid().AddColumn().AddColumn();
            void Row(string label, string value) => grid.AddRow($"[grey]{label}[/]", Markup.Escape(value));
            Row("store", options.Storage.Provider.ToString());
            Row("spoke nodes", spokes.ToString(CultureInfo.InvariantCulture));
            Row("experts (active)", $"{experts}, {openCases} open cases of {capacity} capacity");
            Row("directory version", directoryVersion.ToString(CultureInfo.InvariantCulture));
            Row("consultations", string.Join(", ", byStatus.Select(s => $"{ProtoEnumNames.Name(s.Status)} {s.Count}")));
            Row("second reviews pending", reviews.ToString(CultureInfo.InvariantCulture));
            if (awaitingFiles.Count > 0)
            {
                Row("awaiting attached files", $"{awaitingFiles.Count}, the oldest received {JapanTime.Format(awaitingFiles[0].ReceivedAt)}");
            }
            AnsiConsole.Write(grid);
            // Each spoke as it last reported (every half minute while it reaches the hub).
            if (spokeStatus.Count > 0)
            {
                var table = new Table().AddColumns("spoke", "facility", "last report (JST)", "outbox", "oldest pending (JST)", "refused", "parked", "feed backlog", "audit lag", "contract/schema");
                foreach (var spoke in spokeStatus)
                {
                    var silent = spoke.LastContact is null || DateTimeOffset.UtcNow - spoke.LastContact.ToDateTimeOffset() > TimeSpan.FromMinutes(5);
                    var lastReport = spoke.LastContact is null ? "never" : JapanTime.Format(spoke.LastContact.ToDateTimeOffset());
                    table.AddRow(Markup.Escape(spoke.NodeId), Markup.Escape(spoke.FacilityNameJa), silent ? $"[red]{Markup.Escape(lastReport)}[/]" : Markup.Escape(lastReport),
                        spoke.OutboxPending.ToString(CultureInfo.InvariantCulture),
                        spoke.OldestPendingAt is null ? "—" : Markup.Escape(JapanTime.Format(spoke.OldestPendingAt.ToDateTimeOffset())),
                        spoke.Refused.ToString(CultureInfo.InvariantCulture), spoke.Parked > 0 ? $"[yellow]{spoke.Parked}[/]" : "0",
                        spoke.FeedBacklog.ToString(CultureInfo.InvariantCulture), spoke.AuditForwardingLag.ToString(CultureInfo.InvariantCulture),
                        spoke.LastContact is null ? "—" : $"{spoke.ContractVersion}/{spoke.SchemaVersion}");
                }
                AnsiConsole.Write(table);
            }
            if (waiting.Count == 0)
            {
                AnsiConsole.MarkupLine("[green]No consultation waits for an expert.[/]");
                return 0;
            }
            var oldest = waiting.MinBy(w => w.ReceivedAt)!;
            var age = DateTimeOffset.UtcNow - oldest.ReceivedAt;
            AnsiConsole.MarkupLine($"[yellow]{waiting.Count} consultation(s) wait for an expert[/]; the oldest, {oldest.ConsultationId} ({ProtoEnumNames.Name(oldest.OrganSystem)}), " +
                $"for {(int)age.TotalDays}d {age.Hours}h. See 'hub consultations waiting'.");
            foreach (var organ in waiting.GroupBy(w => w.OrganSystem))
            {
                AnsiConsole.MarkupLine($"  {ProtoEnumNames.Name(organ.Key)}: {organ.Count()} waiting");
            }
            return exitCode;
        }, cancellationToken));
        return command;
    }

    private static async Task<long> ScalarAsync(System.Data.Common.DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(sql);
        return await command.ScalarInt64Async(cancellationToken);
    }
}
