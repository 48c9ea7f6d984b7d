using System.CommandLine;
using RareCancerNetwork.Node.Backup;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// <c>backup</c> and <c>restore</c>: the spoke's store and keys, encrypted, in generations. A backup is taken while the
/// node runs; a restore is done with the node stopped, and the node then re-synchronises with the hub by itself.
/// </summary>
internal static class BackupCommands
{
    private const string Prefix = "rcn-spoke";

    private static Option<string> DataOption() => new("--data") { Description = "Spoke data folder", DefaultValueFactory = _ => ".rcn/spoke" };

    private static Option<string> PassphraseOption() =>
        new("--passphrase-file") { Description = "A file whose first line is the passphrase (at least 12 characters); keep it apart from the backups", Required = true };

    public static Command Backup()
    {
        var data = DataOption();
        var to = new Option<string>("--to") { Description = "The backup folder (another disk or a mounted share)", Required = true };
        var passphrase = PassphraseOption();
        var keep = new Option<int>("--keep") { Description = "Generations to keep, newest first", DefaultValueFactory = _ => 7 };
        var command = new Command("backup", "Back up the store and the keys while the spoke runs, encrypted (OpenPGP, AES-256), keeping generations.")
        {
            data, to, passphrase, keep,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new SpokeOptions { DataFolder = result.GetValue(data)! };
            if (!File.Exists(options.DatabasePath))
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: no spoke database at {Markup.Escape(options.DatabasePath)}");
                return 2;
            }
            try
            {
                var file = await NodeBackup.CreateAsync([options.DatabasePath], options.KeysFolder, result.GetValue(to)!, Prefix,
                    NodeBackup.ReadPassphrase(result.GetValue(passphrase)!), result.GetValue(keep), TimeProvider.System, cancellationToken);
                AnsiConsole.MarkupLine($"[green]Backed up[/] to {Markup.Escape(file)} ({new FileInfo(file).Length:N0} bytes); " +
                    $"{NodeBackup.Generations(result.GetValue(to)!, Prefix).Count} generation(s) kept.");
                return 0;
            }
            catch (BackupUnreadableException exception)
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
                return 2;
            }
        });
        return command;
    }

    public static Command Restore()
    {
        var data = DataOption();
        var from = new Option<string>("--from") { Description = "The backup file (.tar.pgp)", Required = true };
        var passphrase = PassphraseOption();
        var replace = new Option<bool>("--replace") { Description = "Replace the store and keys already in the data folder" };
        var command = new Command("restore", "Restore the store and the keys from a backup (the spoke stopped); it then re-synchronises with the hub.")
        {
            data, from, passphrase, replace,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new SpokeOptions { DataFolder = result.GetValue(data)! };
            if (File.Exists(options.DatabasePath) && !result.GetValue(replace))
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(options.DatabasePath)} exists; stop the spoke and pass --replace to overwrite it.");
                return 2;
            }
            try
            {
                System.IO.Directory.CreateDirectory(options.FullDataFolder);
                await NodeBackup.RestoreAsync(result.GetValue(from)!, NodeBackup.ReadPassphrase(result.GetValue(passphrase)!), [options.DatabasePath], options.KeysFolder,
                    cancellationToken);
                AnsiConsole.MarkupLine("[green]Restored.[/] Start the spoke: it sends again what the hub may lack (the hub recognises what it holds) and catches up with its feed.");
                return 0;
            }
            catch (BackupUnreadableException exception)
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
                return 2;
            }
        });
        return command;
    }
}
