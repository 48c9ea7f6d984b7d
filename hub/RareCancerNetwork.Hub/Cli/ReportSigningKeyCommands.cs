using System.CommandLine;
using System.Globalization;
using RareCancerNetwork.Hub.Consultations;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>The report-signing keys and their rollover (docs/security.md): a new key takes over without a restart; old ones stay published.</summary>
internal static class ReportSigningKeyCommands
{
    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task<int>>, CancellationToken, Task<int>> withHub)
    {
        var list = new Command("list", "List the report-signing keys: the one signing, pending, and retired ones (all published).");
        list.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var keys = await services.GetRequiredService<ReportSigningKeys>().ListAsync(token);
            var now = DateTimeOffset.UtcNow;
            var signing = keys.Where(k => !k.Retired && k.NotBefore.ToDateTimeOffset() <= now).MaxBy(k => k.NotBefore.ToDateTimeOffset());
            var table = new Table().AddColumns("key id (SHA-256)", "signs from (UTC)", "state");
            foreach (var key in keys)
            {
                table.AddRow(key.KeyId, key.NotBefore.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture),
                    key == signing ? "signing" : key.Retired ? "retired (its reports stay verifiable)" : key.NotBefore.ToDateTimeOffset() > now ? "pending" : "published");
            }
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));

        var hours = new Option<double>("--activate-in-hours") { Description = "Hours until the new key signs (default 0: at once)" };
        var add = new Command("add", "Add the next report-signing key; it signs from its start on, in every instance, without a restart.") { hours };
        add.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var key = await services.GetRequiredService<ReportSigningKeys>().AddAsync(DateTimeOffset.UtcNow.AddHours(result.GetValue(hours)), token);
            AnsiConsole.MarkupLine($"[green]Added[/] {key.KeyId}, signing from {key.NotBefore.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)}.");
            return 0;
        }, cancellationToken));

        var keyId = new Option<string>("--key-id") { Description = "The key to retire (from 'report-signing-keys list')", Required = true };
        var retire = new Command("retire", "Retire a report-signing key: it signs nothing new; what it signed stays verifiable.") { keyId };
        retire.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var retired = await services.GetRequiredService<ReportSigningKeys>().RetireAsync(result.GetValue(keyId)!.Trim().ToLowerInvariant(), token);
            AnsiConsole.MarkupLine(retired ? "[green]Retired.[/]" : "[red]No such active report-signing key.[/]");
            return retired ? 0 : 1;
        }, cancellationToken));
        return new Command("report-signing-keys", "The keys the hub signs expert reports with (kept in the hub's store).") { list, add, retire };
    }
}
