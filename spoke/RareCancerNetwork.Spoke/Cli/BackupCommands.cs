using System.CommandLine;
using RareCancerNetwork.Node.Backup;
using RareCancerNetwork.Node.CommandLine;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// <c>backup</c> and <c>restore</c>: the spoke's store and keys, encrypted, in generations. A backup is taken while the
/// node runs; a restore is done with the node stopped, and the node then re-synchronises with the hub by itself.
/// </summary>
internal static class BackupCommands
{
    private const string Prefix = "rcn-spoke";

    private static Option<string> DataOption() => new("--data") { Description = "Spoke data folder", DefaultValueFactory = _ => ".rcn/spoke" };

    private static Func<ParseResult, BackupScope> ScopeOf(Option<string> data) => result =>
    {
        var options = new SpokeOptions { DataFolder = result.GetValue(data)! };
        return new BackupScope([new SqliteBackupSource(options.DatabasePath)], options.KeysFolder, options.FullDataFolder);
    };

    public static Command Backup()
    {
        var data = DataOption();
        return BackupCommandLine.Backup("Back up the store and the keys while the spoke runs, encrypted (OpenPGP, AES-256), keeping generations.",
            Prefix, ScopeOf(data), data);
    }

    public static Command Restore()
    {
        var data = DataOption();
        return BackupCommandLine.Restore("Restore the store and the keys from a backup (the spoke stopped); it then re-synchronises with the hub.",
            "Start the spoke: it sends again what the hub may lack (the hub recognises what it holds) and catches up with its feed.", ScopeOf(data), data);
    }
}
