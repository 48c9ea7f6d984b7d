using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Store;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// The operator's view of delivery to the hub: <c>status</c> and <c>outbox resend</c>. They read the
/// node's database directly, so they work whether the node runs or not; a running node picks up a
/// re-sent entry within seconds.
/// </summary>
internal static class OutboxCommands
{
    private static Option<string> DataOption() => new("--data") { Description = "Spoke data folder", DefaultValueFactory = _ => ".rcn/spoke" };

    public static Command Status()
    {
        var data = DataOption();
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts" };
        var command = new Command("status", "Delivery to the hub: outbox depth, oldest pending entry, last delivery, refused and parked entries.") { data, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (OpenDatabase(result.GetValue(data)!) is not { } database)
            {
                return 2;
            }
            var status = await new OutboxStore(database, TimeProvider.System).StatusAsync(cancellationToken);
            var hub = await ReadHubContactAsync(database, cancellationToken);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { outbox = status, hub }, JsonOptions));
                return 0;
            }
            var now = DateTimeOffset.UtcNow;
            var grid = new Grid().AddColumn().AddColumn();
            if (hub is not null)
            {
                grid.AddRow("[grey]last contact with the hub[/]", hub.LastContactAt is { } contact ? $"{JapanTime.Format(contact)} ({Age(now - contact)} ago)" : "never");
                if (hub.Failing)
                {
                    grid.AddRow("[grey]hub now[/]", $"[red]{Markup.Escape(hub.LastFailure ?? "")}[/] (since {JapanTime.Format(hub.LastFailureAt!.Value)})");
                }
                grid.AddRow("[grey]feed lag[/]", $"{hub.FeedLag.ToString(CultureInfo.InvariantCulture)} event(s) not yet applied");
            }
            grid.AddRow("[grey]pending[/]", status.Pending.ToString(CultureInfo.InvariantCulture));
            grid.AddRow("[grey]oldest pending[/]", status.OldestPendingAt is { } oldest ? $"{JapanTime.Format(oldest)} ({Age(now - oldest)} ago)" : "-");
            grid.AddRow("[grey]last delivery[/]", status.LastDeliveredAt is { } last ? $"{JapanTime.Format(last)} ({Age(now - last)} ago)" : "never");
            grid.AddRow("[grey]refused by the hub[/]", status.Refused.ToString(CultureInfo.InvariantCulture));
            grid.AddRow("[grey]parked[/]", status.Parked.Count == 0 ? "0" : $"[red]{status.Parked.Count}[/] ('outbox resend' sends them again)");
            AnsiConsole.Write(grid);
            if (status.Parked.Count > 0)
            {
                var table = new Table().AddColumn(new TableColumn("outbox id").NoWrap()).AddColumn("kind").AddColumn(new TableColumn("record").NoWrap())
                    .AddColumns("attempts", "parked (JST)", "last error");
                foreach (var entry in status.Parked)
                {
                    table.AddRow(entry.OutboxId.ToString(CultureInfo.InvariantCulture), entry.Kind, entry.AggregateId,
                        entry.Attempts.ToString(CultureInfo.InvariantCulture), JapanTime.Format(entry.ParkedAt), Markup.Escape(entry.Reason));
                }
                AnsiConsole.Write(table);
            }
            return 0;
        });
        return command;
    }

    public static Command Outbox()
    {
        var data = DataOption();
        var id = new Argument<long?>("outbox-id") { Description = "The parked entry to send again (see 'status'); omit with --all-parked", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all-parked") { Description = "Send every parked entry again" };
        var resend = new Command("resend", "Send parked entries to the hub again (after the cause was fixed).") { data, id, all };
        resend.SetAction(async (result, cancellationToken) =>
        {
            var outboxId = result.GetValue(id);
            if (outboxId is null == !result.GetValue(all))
            {
                AnsiConsole.MarkupLine("[red]Error[/]: name one parked entry by its outbox id, or pass --all-parked.");
                return 2;
            }
            if (Open(result.GetValue(data)!) is not { } outbox)
            {
                return 2;
            }
            var count = await outbox.ResendParkedAsync(outboxId, cancellationToken);
            AnsiConsole.MarkupLine(count == 0 ? "No parked entry matched." : $"[green]{count}[/] entr{(count == 1 ? "y" : "ies")} queued for delivery again.");
            return count == 0 && outboxId is not null ? 1 : 0;
        });
        return new Command("outbox", "The node's queue of deliveries to the hub.") { resend };
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static OutboxStore? Open(string dataFolder) => OpenDatabase(dataFolder) is { } database ? new OutboxStore(database, TimeProvider.System) : null;

    private static SpokeDatabase? OpenDatabase(string dataFolder)
    {
        var options = new SpokeOptions { DataFolder = dataFolder };
        if (!File.Exists(options.DatabasePath))
        {
            AnsiConsole.MarkupLine($"[red]Error[/]: no spoke database at {Markup.Escape(options.DatabasePath)}");
            return null;
        }
        return new SpokeDatabase(Options.Create(options));
    }

    /// <summary>The node's contact with the hub; null for a store the node has not migrated yet (it records contact once it runs).</summary>
    private static async Task<HubContact?> ReadHubContactAsync(SpokeDatabase database, CancellationToken cancellationToken)
    {
        try
        {
            return await new HubContactStore(database, TimeProvider.System).ReadAsync(cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException exception) when (exception.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private static string Age(TimeSpan age) => age.TotalHours >= 1 ? $"{(int)age.TotalHours} h {age.Minutes} min" : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes} min" : $"{(int)age.TotalSeconds} s";
}
