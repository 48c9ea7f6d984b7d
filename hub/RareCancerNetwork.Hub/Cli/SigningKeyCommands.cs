using System.CommandLine;
using System.Security.Cryptography;
using RareCancerNetwork.Hub.Identity;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>Token signing key rollover without downtime (procedure in docs/security.md).</summary>
internal static class SigningKeyCommands
{
    public static Command Create(Option<string?> dataFolder)
    {
        var list = new Command("list", "List the signing keys: published, signing, and pending.");
        list.SetAction(result =>
        {
            var folder = KeysFolder(result, dataFolder);
            var keys = TokenKeys.LoadSigningKeys(folder);
            var signer = keys.Where(k => k.NotBefore <= DateTime.Now).OrderByDescending(k => k.NotAfter).FirstOrDefault();
            var table = new Table().AddColumns("SHA-256", "valid from (UTC)", "until (UTC)", "state");
            foreach (var key in keys)
            {
                table.AddRow(Convert.ToHexStringLower(key.GetCertHash(HashAlgorithmName.SHA256)), key.NotBefore.ToUniversalTime().ToString("u"),
                    key.NotAfter.ToUniversalTime().ToString("u"), ReferenceEquals(key, signer) ? "signing (after restart)" : key.NotBefore > DateTime.Now ? "published, pending" : "published");
            }
            AnsiConsole.Write(table);
            return 0;
        });

        var hours = new Option<double>("--activate-in-hours")
        {
            Description = "Hours until the new key may sign; spokes learn it meanwhile (default 24)",
            DefaultValueFactory = _ => 24,
        };
        var add = new Command("add", "Add the next signing key; restart the hub to publish it.") { hours };
        add.SetAction(result =>
        {
            using var key = TokenKeys.AddSigningKey(KeysFolder(result, dataFolder), DateTimeOffset.UtcNow.AddHours(result.GetValue(hours)));
            AnsiConsole.MarkupLine($"[green]Added[/] {Convert.ToHexStringLower(key.GetCertHash(HashAlgorithmName.SHA256))}, signing from {key.NotBefore.ToUniversalTime():u}. Restart the hub to publish it.");
            return 0;
        });

        var thumbprint = new Option<string>("--sha256") { Description = "SHA-256 of the key to retire (from 'signing-keys list')", Required = true };
        var retire = new Command("retire", "Retire a signing key once its tokens have expired; restart the hub to stop publishing it.") { thumbprint };
        retire.SetAction(result =>
        {
            var retired = TokenKeys.RetireSigningKey(KeysFolder(result, dataFolder), result.GetValue(thumbprint)!.Trim().ToLowerInvariant());
            AnsiConsole.MarkupLine(retired ? "[green]Retired.[/] Restart the hub." : "[red]No such signing key.[/]");
            return retired ? 0 : 1;
        });
        return new Command("signing-keys", "Token signing keys and their rollover.") { list, add, retire };
    }

    private static string KeysFolder(ParseResult result, Option<string?> dataFolder) =>
        new HubOptions { DataFolder = result.GetValue(dataFolder) ?? ".rcn/hub" }.KeysFolder;
}
