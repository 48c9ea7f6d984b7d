using System.CommandLine;
using RareCancerNetwork.Node.Backup;
using Spectre.Console;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>What a node's backup takes: its stores and its keys folder.</summary>
public sealed record BackupScope(IReadOnlyList<IBackupSource> Sources, string KeysFolder, string DataFolder);

/// <summary>
/// The <c>backup</c> and <c>restore</c> commands every node has: a passphrase file and/or operators' OpenPGP certificates to
/// seal a backup with, generations kept; a restore with the passphrase or one recipient's secret key.
/// </summary>
public static class BackupCommandLine
{
    public static Command Backup(string description, string prefix, Func<ParseResult, BackupScope> scopeOf, params Option[] nodeOptions)
    {
        var to = new Option<string>("--to") { Description = "The backup folder (another disk or a mounted share)", Required = true };
        var passphrase = PassphraseFile();
        var recipients = new Option<string[]>("--recipient-cert")
        {
            Description = "An operator's OpenPGP certificate (public key, 'gpg --export --armor'); repeat for several. Its secret key, kept offline, opens the backup",
            AllowMultipleArgumentsPerToken = false,
        };
        var keep = new Option<int>("--keep") { Description = "Generations to keep, newest first", DefaultValueFactory = _ => 7 };
        var command = new Command("backup", description) { to, passphrase, recipients, keep };
        command.WithOptions(nodeOptions);
        command.SetAction(async (result, cancellationToken) => await ReportingAsync(async () =>
        {
            var scope = scopeOf(result);
            if (!await scope.Sources[0].HoldsDataAsync(cancellationToken))
            {
                throw new BackupUnreadableException($"No store at {scope.Sources[0].Description}: is --data the node's data folder?");
            }
            var sealing = new BackupSealing(
                result.GetValue(passphrase) is { } file ? NodeBackup.ReadPassphrase(file) : null,
                [.. (result.GetValue(recipients) ?? []).Select(path => BackupSealing.ReadRecipient(path, TimeProvider.System.GetUtcNow()))]);
            var written = await NodeBackup.CreateAsync(scope.Sources, scope.KeysFolder, result.GetValue(to)!, prefix, sealing, result.GetValue(keep),
                TimeProvider.System, cancellationToken);
            var sealedFor = string.Join(", ", (sealing.Passphrase is null ? Array.Empty<string>() : ["the passphrase"])
                .Concat(sealing.Recipients.Select(r => $"key {BackupSealing.KeyId(r)}")));
            AnsiConsole.MarkupLine($"[green]Backed up[/] to {Markup.Escape(written)} ({new FileInfo(written).Length:N0} bytes), opened by {Markup.Escape(sealedFor)}; " +
                $"{NodeBackup.Generations(result.GetValue(to)!, prefix).Count} generation(s) kept.");
        }));
        return command;
    }

    public static Command Restore(string description, string restoredMessage, Func<ParseResult, BackupScope> scopeOf, params Option[] nodeOptions)
    {
        var from = new Option<string>("--from") { Description = $"The backup file ({NodeBackup.Extension})", Required = true };
        var passphrase = PassphraseFile();
        var secretKey = new Option<string>("--secret-key") { Description = "A recipient's OpenPGP secret key ('gpg --export-secret-keys --armor'), instead of the passphrase" };
        var secretKeyPassphrase = new Option<string>("--secret-key-passphrase-file") { Description = "A file whose first line is the secret key's own passphrase" };
        var replace = new Option<bool>("--replace") { Description = "Replace the stores and keys already in the data folder" };
        var command = new Command("restore", description) { from, passphrase, secretKey, secretKeyPassphrase, replace };
        command.WithOptions(nodeOptions);
        command.SetAction(async (result, cancellationToken) => await ReportingAsync(async () =>
        {
            var scope = scopeOf(result);
            if (!result.GetValue(replace) && await scope.Sources[0].HoldsDataAsync(cancellationToken))
            {
                throw new BackupUnreadableException($"{scope.Sources[0].Description} holds data; stop the node and pass --replace to overwrite it.");
            }
            var opening = (result.GetValue(passphrase), result.GetValue(secretKey)) switch
            {
                ({ } file, null) => BackupOpening.WithPassphrase(NodeBackup.ReadPassphrase(file)),
                (null, { } key) => BackupOpening.WithSecretKey(key,
                    result.GetValue(secretKeyPassphrase) is { } keyPassphrase ? File.ReadLines(keyPassphrase).FirstOrDefault()?.Trim() ?? "" : ""),
                _ => throw new BackupUnreadableException("Give either --passphrase-file or --secret-key."),
            };
            Directory.CreateDirectory(scope.DataFolder);
            await NodeBackup.RestoreAsync(result.GetValue(from)!, opening, scope.Sources, scope.KeysFolder, scope.DataFolder, cancellationToken);
            AnsiConsole.MarkupLine($"[green]Restored.[/] {Markup.Escape(restoredMessage)}");
        }));
        return command;
    }

    private static Option<string> PassphraseFile() =>
        new("--passphrase-file") { Description = "A file whose first line is the passphrase (at least 12 characters); keep it apart from the backups" };

    private static async Task<int> ReportingAsync(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (Exception exception) when (exception is BackupUnreadableException or IOException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
            return 2;
        }
    }
}
