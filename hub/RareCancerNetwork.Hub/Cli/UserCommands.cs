using System.CommandLine;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Authorization;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>Administrators' commands for people: add a user (with a second factor), disable a user.</summary>
internal static class UserCommands
{
    public static Command Add(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var userId = new Option<string>("--user-id") { Description = "Sign-in name, e.g. yamada.taro", Required = true };
        var name = new Option<string>("--name") { Description = "Display name, e.g. 山田 太郎", Required = true };
        var role = new Option<string>("--role") { Description = "One of: " + string.Join(", ", NetworkClaims.Roles.All), Required = true };
        var facility = new Option<string>("--facility") { Description = "Home facility code, e.g. CORE-004", Required = true };
        var expertId = new Option<string?>("--expert-id") { Description = "For expert pathologists: the registered expert id" };
        var totp = new Option<bool>("--totp") { Description = "Require a one-time code (always on for administrators)" };
        var command = new Command("add-user",
            "Add a person. The password is read from standard input (or asked for); a TOTP secret is shown once.") { userId, name, role, facility, expertId, totp };
        command.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var password = ReadPassword();
            var added = await services.GetRequiredService<UserAccounts>().AddAsync(result.GetValue(userId)!, result.GetValue(name)!,
                result.GetValue(role)!, result.GetValue(facility)!, result.GetValue(expertId), password, result.GetValue(totp), cancellationToken);
            AnsiConsole.MarkupLine($"[green]User [bold]{Markup.Escape(added.UserId)}[/] added.[/]");
            if (added.TotpSecret is not null)
            {
                // Shown once: the hub keeps it only encrypted.
                Console.WriteLine($"TOTP secret: {added.TotpSecret}");
                Console.WriteLine($"TOTP URI: {added.TotpUri}");
            }
        }, cancellationToken));
        return command;
    }

    public static Command Disable(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var userId = new Option<string>("--user-id") { Required = true };
        var command = new Command("disable-user", "Disable a person: no new sign-in or token refresh from now on.") { userId };
        command.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var done = await services.GetRequiredService<UserAccounts>().DisableAsync(result.GetValue(userId)!, cancellationToken);
            AnsiConsole.MarkupLine(done ? "[green]Disabled.[/]" : "[yellow]No active user with that id.[/]");
        }, cancellationToken));
        return command;
    }

    public static Command GrantExactStatistics(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var userId = new Option<string>("--user-id") { Description = "The statistician", Required = true };
        var grantedBy = new Option<string>("--granted-by") { Description = "The administrator granting it (recorded)", Required = true };
        var command = new Command("grant-exact-statistics",
            "Let a statistician see unsuppressed national figures (every such query is audited).") { userId, grantedBy };
        command.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            await services.GetRequiredService<UserAccounts>().GrantExactStatisticsAsync(result.GetValue(userId)!, result.GetValue(grantedBy)!, cancellationToken);
            AnsiConsole.MarkupLine("[green]Granted.[/] It applies to the statistician's next query.");
        }, cancellationToken));
        return command;
    }

    public static Command RevokeExactStatistics(Func<ParseResult, Func<IServiceProvider, HubOptions, CancellationToken, Task>, CancellationToken, Task<int>> withHub)
    {
        var userId = new Option<string>("--user-id") { Required = true };
        var command = new Command("revoke-exact-statistics", "Withdraw the exact-statistics permission; it applies to the next query.") { userId };
        command.SetAction((result, cancellationToken) => withHub(result, async (services, _, cancellationToken) =>
        {
            var done = await services.GetRequiredService<UserAccounts>().RevokeExactStatisticsAsync(result.GetValue(userId)!, cancellationToken);
            AnsiConsole.MarkupLine(done ? "[green]Revoked.[/]" : "[yellow]That user does not hold the permission.[/]");
        }, cancellationToken));
        return command;
    }

    private static string ReadPassword()
    {
        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine() ?? "";
        }
        var first = AnsiConsole.Prompt(new TextPrompt<string>("Password:").Secret());
        var second = AnsiConsole.Prompt(new TextPrompt<string>("Repeat:").Secret());
        return first == second ? first : throw new IOException("The passwords differ.");
    }
}
