using System.CommandLine;
using OpenIddict.Abstractions;
using Spectre.Console;

namespace RareCancerNetwork.HubClient;

/// <summary>People sign in with the device authorization grant: no password ever passes through the command line.</summary>
public static class SessionCommands
{
    public static Command Login(Option<string> session)
    {
        var hubUrl = new Option<string>("--hub-url") { Description = "The hub (env RCN_HUB_URL)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_HUB_URL") ?? "https://127.0.0.1:5443" };
        var hubCa = new Option<string?>("--hub-ca") { Description = "PEM CA of the hub (env RCN_HUB_CA)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_HUB_CA") ?? ".rcn/hub/tls/dev-ca.crt" };
        var wait = new Option<int>("--timeout") { Description = "Seconds to wait for the sign-in", DefaultValueFactory = _ => 600 };
        var command = new Command("login", "Sign in: shows a code to enter on the hub's sign-in page, then waits.") { hubUrl, hubCa, wait };
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                var signedIn = await PersonSession.SignInAsync(result.GetValue(session)!, result.GetValue(hubUrl)!, result.GetValue(hubCa),
                    (code, uri, complete) =>
                    {
                        Console.WriteLine($"To sign in, open {uri} and enter the code: {code}");
                        if (complete is not null)
                        {
                            Console.WriteLine($"Or open: {complete}");
                        }
                        Console.WriteLine("Waiting for the sign-in...");
                    },
                    TimeSpan.FromSeconds(result.GetValue(wait)), cancellationToken);
                AnsiConsole.MarkupLine($"[green]Signed in as [bold]{Markup.Escape(signedIn.Subject)}[/].[/]");
                return 0;
            }
            catch (OpenIddictExceptions.ProtocolException exception)
            {
                AnsiConsole.MarkupLine($"[red]Sign-in failed[/]: {Markup.Escape(exception.ErrorDescription ?? exception.Error ?? exception.Message)}");
                return 1;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("[red]Sign-in failed[/]: nobody signed in before the time ran out or the code expired.");
                return 1;
            }
        });
        return command;
    }

    public static Command Logout(Option<string> session)
    {
        var command = new Command("logout", "Forget the signed-in session on this machine.");
        command.SetAction(result =>
        {
            File.Delete(result.GetValue(session)!);
            Console.WriteLine("Signed out.");
            return 0;
        });
        return command;
    }
}
