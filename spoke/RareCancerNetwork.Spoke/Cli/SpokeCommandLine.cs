using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Hosting;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// The spoke program: <c>run</c> (the default) serves the node; <c>submit</c>, <c>list</c>, <c>show</c>
/// and <c>watch</c> are the pathologist's commands against the node's local API.
/// </summary>
public static class SpokeCommandLine
{
    private static readonly Option<string> Profile = new("--profile")
    {
        Description = "Client profile written by 'hub register-local-client --write-config' (env RCN_PROFILE)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_PROFILE") ?? ".rcn/cli-profile.json",
    };

    private static readonly Option<string> Session = new("--session")
    {
        Description = "Signed-in session written by 'login'; used instead of --profile when present (env RCN_SESSION)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_SESSION") ?? ".rcn/session.json",
    };

    private static readonly Option<string> SpokeUrl = new("--spoke-url")
    {
        Description = "The spoke's local API (env RCN_SPOKE_URL)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_SPOKE_URL") ?? SpokeOptions.DefaultListenUrl,
    };

    private static readonly Option<string?> SpokeCa = new("--spoke-ca")
    {
        Description = "PEM CA of the spoke's certificate (env RCN_SPOKE_CA; default .rcn/spoke/tls/dev-ca.crt)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_SPOKE_CA") ?? Path.Combine(".rcn", "spoke", "tls", DevelopmentCertificates.CaCertificateFileName),
    };

    public static RootCommand Create()
    {
        var root = new RootCommand("Rare Cancer Network spoke node and its command line for local pathologists.");
        var config = new Option<string?>("--config") { Description = "Settings file written by 'hub register-spoke --write-config'" };
        var data = new Option<string?>("--data") { Description = "Spoke data folder (default Spoke:DataFolder, .rcn/spoke)" };
        var listen = new Option<string[]>("--listen")
        {
            Description = "https URL for the local API with an IP address or localhost (repeatable; env Spoke__ListenUrls__0, __1, ...); default https://127.0.0.1:5444",
        };
        var run = new Command("run", "Run the spoke node (the default command).") { config, data, listen };
        run.SetAction((result, cancellationToken) => RunAsync(result, config, data, listen, cancellationToken));
        root.Subcommands.Add(run);
        root.Options.Add(config);
        root.Options.Add(data);
        root.Options.Add(listen);
        root.SetAction((result, cancellationToken) => RunAsync(result, config, data, listen, cancellationToken));

        // Only the commands that talk to the local API take its connection options.
        foreach (var client in new[]
        {
            ConsultationCommands.Submit(Connect), ConsultationCommands.List(Connect), ConsultationCommands.Show(Connect), ConsultationCommands.Watch(Connect),
            ConsultationCommands.Withdraw(Connect), ConsultationCommands.Acknowledge(Connect), ConsultationCommands.Answer(Connect), AttachmentCommands.Attach(Connect),
        })
        {
            client.Options.Add(Session);
            client.Options.Add(Profile);
            client.Options.Add(SpokeUrl);
            client.Options.Add(SpokeCa);
            root.Subcommands.Add(client);
        }
        foreach (var group in new[] { RegistryCommands.Import(Connect), DirectoryCommands.Create(Connect), ReferralCommands.Create(Connect), HotlineCommands.Create(Connect) })
        {
            foreach (var leaf in group.Subcommands)
            {
                leaf.Options.Add(Session);
                leaf.Options.Add(Profile);
                leaf.Options.Add(SpokeUrl);
                leaf.Options.Add(SpokeCa);
            }
            root.Subcommands.Add(group);
        }
        var login = SessionCommands.Login(Session);
        login.Options.Add(Session);
        root.Subcommands.Add(login);
        var logout = SessionCommands.Logout(Session);
        logout.Options.Add(Session);
        root.Subcommands.Add(logout);
        root.Subcommands.Add(OutboxCommands.Status());
        root.Subcommands.Add(OutboxCommands.Outbox());
        root.Subcommands.Add(BackupCommands.Backup());
        root.Subcommands.Add(BackupCommands.Restore());
        root.Subcommands.Add(AuditCommands.Create());
        root.Subcommands.Add(ReportCommands.VerifyReport());
        root.Subcommands.Add(NodeCertificateCommand.Create());
        return root;
    }

    private static LocalApiConnection Connect(ParseResult result) =>
        LocalApiConnection.Open(result.GetValue(Session)!, result.GetValue(Profile)!, result.GetValue(SpokeUrl)!, result.GetValue(SpokeCa));

    private static async Task<int> RunAsync(ParseResult result, Option<string?> config, Option<string?> data, Option<string[]> listen, CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string?>();
        if (result.GetValue(data) is { Length: > 0 } folder)
        {
            settings[$"{SpokeOptions.Section}:DataFolder"] = folder;
        }
        var urls = result.GetValue(listen) ?? [];
        for (var i = 0; i < urls.Length; i++)
        {
            settings[$"{SpokeOptions.Section}:ListenUrls:{i}"] = urls[i];
        }
        WebApplication app;
        try
        {
            app = SpokeHost.Build([], settings, result.GetValue(config));
        }
        catch (NodeConfigurationException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return 2;
        }
        await using var _ = app;
        await SpokeHost.InitializeAsync(app.Services, cancellationToken);
        await app.StartAsync(cancellationToken);
        var options = app.Services.GetRequiredService<IOptions<SpokeOptions>>().Value;
        Console.WriteLine($"Spoke {options.NodeId} ({options.FacilityCode}) data folder: {options.FullDataFolder}");
        var tls = app.Services.GetRequiredService<DevelopmentCertificates.Result>();
        if (tls.CaCertificatePath.Length > 0)
        {
            Console.WriteLine($"Development CA of the local API (local tools trust this): {tls.CaCertificatePath}");
        }
        foreach (var address in NodeListener.BoundAddresses(app))
        {
            Console.WriteLine($"Spoke listening on {address}");
        }
        Console.WriteLine($"Hub: {options.Hub.Url}");
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>Runs a client command, turning gRPC failures into a readable message and exit code 1.</summary>
    internal static async Task<int> ClientAsync(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (RpcException exception)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(exception.StatusCode.ToString())}[/]: {Markup.Escape(exception.Status.Detail)}");
            return 1;
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or InvalidJsonException
            or OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]Error[/]: {Markup.Escape(exception.Message)}");
            return 1;
        }
    }
}
