using System.CommandLine;
using RareCancerNetwork.Hub.Audit;
using RareCancerNetwork.Node.Audit;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary><c>audit verify</c>: walks the hub's own chain and every chain forwarded by spokes.</summary>
internal static class AuditCommands
{
    public static Command Create(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task<int>>, CancellationToken, Task<int>> withHub)
    {
        var verify = new Command("verify", "Verify the audit trails; names the first broken entry of each. Exit code 1 when any is broken.");
        verify.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var results = new List<(string Trail, AuditVerification Result)>
            {
                ("hub", await services.GetRequiredService<AuditLog>().VerifyAsync(cancellationToken)),
            };
            foreach (var (node, verification) in await services.GetRequiredService<ForwardedAuditStore>().VerifyAsync(cancellationToken))
            {
                results.Add(($"forwarded by {node}", verification));
            }
            return Print(results);
        }, cancellationToken));
        return new Command("audit", "The tamper-evident audit trail.") { verify };
    }

    /// <summary>Shared rendering: one line per trail; 1 when any is broken.</summary>
    public static int Print(IEnumerable<(string Trail, AuditVerification Result)> results)
    {
        var broken = 0;
        foreach (var (trail, result) in results)
        {
            if (result.Intact)
            {
                AnsiConsole.MarkupLine($"[green]intact[/]  {Markup.Escape(trail)}: {result.EntriesChecked} entries");
            }
            else
            {
                broken++;
                AnsiConsole.MarkupLine($"[red]BROKEN[/]  {Markup.Escape(trail)}: first broken entry {result.FirstBrokenSequence} — {Markup.Escape(result.Problem!)}");
            }
        }
        return broken == 0 ? 0 : 1;
    }
}
