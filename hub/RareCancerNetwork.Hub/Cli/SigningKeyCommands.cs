using System.CommandLine;
using System.Globalization;
using RareCancerNetwork.Hub.Identity;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>Token signing key rollover without downtime (procedure in docs/security.md).</summary>
internal static class SigningKeyCommands
{
    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task<int>>, CancellationToken, Task<int>> withHub)
    {
        var list = new Command("list", "List the signing keys: published, signing, and pending.");
        list.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var keys = (await services.GetRequiredService<TokenKeys>().LoadSigningKeysAsync(token)).Select(TokenKeys.Describe).ToList();
            var now = DateTimeOffset.UtcNow;
            var signer = keys.Where(k => k.NotBefore <= now).MaxBy(k => k.NotAfter);
            var table = new Table().AddColumns("SHA-256", "valid from (UTC)", "until (UTC)", "state");
            foreach (var key in keys)
            {
                table.AddRow(key.Sha256, key.NotBefore.ToString("u", CultureInfo.InvariantCulture), key.NotAfter.ToString("u", CultureInfo.InvariantCulture),
                    key == signer ? "signing (after restart)" : key.NotBefore > now ? "published, pending" : "published");
            }
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));

        var hours = new Option<double>("--activate-in-hours")
        {
            Description = "Hours until the new key may sign; spokes learn it meanwhile (default 24)",
            DefaultValueFactory = _ => 24,
        };
        var add = new Command("add", "Add the next signing key; restart every hub instance to publish it.") { hours };
        add.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var key = await services.GetRequiredService<TokenKeys>().AddSigningKeyAsync(DateTimeOffset.UtcNow.AddHours(result.GetValue(hours)), token);
            AnsiConsole.MarkupLine($"[green]Added[/] {key.Sha256}, signing from {key.NotBefore.ToString("u", CultureInfo.InvariantCulture)}. Restart every hub instance to publish it.");
            return 0;
        }, cancellationToken));

        var thumbprint = new Option<string>("--sha256") { Description = "SHA-256 of the key to retire (from 'signing-keys list')", Required = true };
        var retire = new Command("retire", "Retire a signing key once its tokens have expired; restart every hub instance to stop publishing it.") { thumbprint };
        retire.SetAction((result, cancellationToken) => withHub(result, async (services, _, token) =>
        {
            var retired = await services.GetRequiredService<TokenKeys>().RetireSigningKeyAsync(result.GetValue(thumbprint)!.Trim().ToLowerInvariant(), token);
            AnsiConsole.MarkupLine(retired ? "[green]Retired.[/] Restart every hub instance." : "[red]No such signing key.[/]");
            return retired ? 0 : 1;
        }, cancellationToken));
        return new Command("signing-keys", "Token signing keys and their rollover (kept in the hub's store).") { list, add, retire };
    }
}
