using System.CommandLine;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Storage;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary><c>audit verify</c> at a spoke: reads the node's database directly (works with the node stopped or running).</summary>
internal static class AuditCommands
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Spoke data folder", DefaultValueFactory = _ => ".rcn/spoke" };
        var verify = new Command("verify", "Verify the spoke's audit trail; names the first broken entry. Exit code 1 when broken.") { data };
        verify.SetAction(async (result, cancellationToken) =>
        {
            var path = Path.Combine(result.GetValue(data)!, "spoke.db");
            if (!File.Exists(path))
            {
                AnsiConsole.MarkupLine($"[red]Error[/]: no spoke database at {Markup.Escape(Path.GetFullPath(path))}");
                return 2;
            }
            var verification = await new AuditLog(new SqliteDatabase(path, typeof(AuditCommands).Assembly), "", TimeProvider.System).VerifyAsync(cancellationToken);
            if (verification.Intact)
            {
                AnsiConsole.MarkupLine($"[green]intact[/]: {verification.EntriesChecked} entries");
                return 0;
            }
            AnsiConsole.MarkupLine($"[red]BROKEN[/]: first broken entry {verification.FirstBrokenSequence} — {Markup.Escape(verification.Problem!)}");
            return 1;
        });
        return new Command("audit", "The spoke's tamper-evident audit trail.") { verify };
    }
}
