using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Backup;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>
/// The hub's command line: <c>run</c> (the default) serves the network; the other commands are
/// the administrator's registrations, run beside a live hub against the same data folder.
/// </summary>
public static partial class HubCommandLine
{
    private static readonly Option<string?> DataFolder = new("--data") { Description = "Hub data folder (default: Hub:DataFolder, env Hub__DataFolder, .rcn/hub)" };

    private static readonly Option<string?> HubUrl = new("--hub-url")
    {
        Description = "URL clients use to reach the hub, written into printed settings (default: Hub:Issuer, else the first listen URL)",
    };

    public static RootCommand Create()
    {
        var root = new RootCommand("Rare Cancer Network hub: the national central institution's node.");

        var listen = new Option<string[]>("--listen")
        {
            Description = "https URL to listen on with an IP address or localhost (repeatable; env Hub__ListenUrls__0, __1, ...); default https://127.0.0.1:5443",
        };
        var run = new Command("run", "Run the hub (the default command).") { listen };
        run.SetAction((result, cancellationToken) => RunAsync(result, listen, cancellationToken));
        root.Subcommands.Add(run);
        root.Options.Add(listen);
        root.SetAction((result, cancellationToken) => RunAsync(result, listen, cancellationToken));

        root.Subcommands.Add(RegisterSpokeCommand());
        root.Subcommands.Add(RegisterLocalClientCommand());
        root.Subcommands.Add(RegisterExpertCommand());
        root.Subcommands.Add(ExpertCommands.Create());
        root.Subcommands.Add(DataManagerCommands.Create());
        root.Subcommands.Add(HotlineCommands.Create());
        var session = new Option<string>("--session") { DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RCN_SESSION") ?? ".rcn/session.json" };
        var login = SessionCommands.Login(session);
        login.Options.Add(session);
        root.Subcommands.Add(login);
        root.Subcommands.Add(UserCommands.Add(WithHubAsync));
        root.Subcommands.Add(UserCommands.Disable(WithHubAsync));
        root.Subcommands.Add(UserCommands.GrantExactStatistics(WithHubAsync));
        root.Subcommands.Add(UserCommands.RevokeExactStatistics(WithHubAsync));
        root.Subcommands.Add(AuditCommands.Create(WithHubAsync));
        root.Subcommands.Add(RevokeNodeCommand());
        root.Subcommands.Add(RotateSecretCommand());
        root.Subcommands.Add(RotateNodeCertificateCommand());
        root.Subcommands.Add(SigningKeyCommands.Create(WithHubAsync));
        root.Subcommands.Add(DirectoryCommands.Create(WithHubAsync));
        root.Subcommands.Add(ReportSigningKeyCommands.Create(WithHubAsync));
        root.Subcommands.Add(ConsultationAdminCommands.Create(WithHubAsync));
        root.Subcommands.Add(StatusCommand.Create(WithHubAsync));
        root.Subcommands.Add(BackupCommand());
        root.Subcommands.Add(RestoreCommand());
        root.Subcommands.Add(RestoredCommand());
        // The data folder for every command that works on the hub's store (not the sign-in, expert and registry
        // commands, which talk to a running hub); the hub URL where settings are printed.
        root.Options.Add(DataFolder);
        root.Options.Add(HubUrl);
        foreach (var command in Leaves(root).Where(c => c.Name != "login" && c.Parents.OfType<Command>().All(p => p.Name is not ("expert" or "registry"))))
        {
            command.Options.Add(DataFolder);
            if (command.Name is "run" or "register-spoke" or "register-local-client" or "register-expert")
            {
                command.Options.Add(HubUrl);
            }
        }
        return root;
    }

    private static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.Count == 0 ? [command] : command.Subcommands.SelectMany(Leaves);

    private static async Task<int> RunAsync(ParseResult result, Option<string[]> listen, CancellationToken cancellationToken)
    {
        var settings = Settings(result);
        var urls = result.GetValue(listen);
        for (var i = 0; urls is not null && i < urls.Length; i++)
        {
            settings[$"{HubOptions.Section}:ListenUrls:{i}"] = urls[i];
        }
        WebApplication app;
        try
        {
            app = HubHost.Build([], settings);
        }
        catch (NodeConfigurationException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return 2;
        }
        await using var _ = app;
        await HubHost.InitializeAsync(app.Services, cancellationToken);
        await app.StartAsync(cancellationToken);
        var options = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
        var tls = app.Services.GetRequiredService<DevelopmentCertificates.Result>();
        Console.WriteLine($"Hub data folder: {options.FullDataFolder}");
        Console.WriteLine($"Hub store: {StoreDescription(options)}");
        if (tls.CaCertificatePath.Length > 0)
        {
            Console.WriteLine($"Development CA (spokes and tools trust this): {tls.CaCertificatePath}");
        }
        foreach (var address in NodeListener.BoundAddresses(app))
        {
            Console.WriteLine($"Hub listening on {address}");
        }
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    private static Command RegisterSpokeCommand()
    {
        var nodeId = new Option<string>("--node-id") { Description = "Spoke node id, e.g. spoke-tokyo", Required = true };
        var facility = new Option<string>("--facility") { Description = "Facility code of the core center that runs it, e.g. CORE-004", Required = true };
        var certificate = new Option<FileInfo>("--certificate")
        {
            Description = "The node's client certificate (PEM), created by 'spoke node-certificate' on the spoke machine",
            Required = true,
        };
        var writeConfig = new Option<FileInfo?>("--write-config") { Description = "Also write the spoke's connection settings to this JSON file" };
        var command = new Command("register-spoke", "Register a spoke node with its client certificate and print what it needs to connect.") { nodeId, facility, certificate, writeConfig };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, options, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>()
                .RegisterSpokeNodeAsync(result.GetValue(nodeId)!, result.GetValue(facility)!,
                    X509Certificate2.CreateFromPem(File.ReadAllText(result.GetValue(certificate)!.FullName)), cancellationToken);
            var tls = services.GetRequiredService<DevelopmentCertificates.Result>();
            var spoke = new JsonObject
            {
                ["NodeId"] = result.GetValue(nodeId),
                ["FacilityCode"] = result.GetValue(facility),
                ["Hub"] = new JsonObject
                {
                    ["Url"] = PublicUrl(result, options),
                    ["CaCertificatePath"] = tls.CaCertificatePath,
                    ["ClientId"] = credentials.ClientId,
                },
            };
            AnsiConsole.MarkupLine($"[green]Spoke node [bold]{Markup.Escape(result.GetValue(nodeId)!)}[/] registered[/] with certificate SHA-256 {credentials.CertificateThumbprint}.");
            PrintSettings("Spoke", spoke);
            if (result.GetValue(writeConfig) is { } file)
            {
                WriteConfig(file, spoke);
                AnsiConsole.MarkupLine($"Written to [bold]{Markup.Escape(file.FullName)}[/] (run the spoke with --config).");
            }
        }, cancellationToken));
        return command;
    }

    private static Command RegisterLocalClientCommand()
    {
        var nodeId = new Option<string>("--node-id") { Description = "The spoke node the client belongs to", Required = true };
        var name = new Option<string>("--name") { Description = "Short client name, e.g. pathology-cli", Required = true };
        var displayName = new Option<string?>("--display-name") { Description = "Who uses it, e.g. 病理診断科" };
        var writeConfig = new Option<FileInfo?>("--write-config") { Description = "Also write the CLI profile to this JSON file" };
        var command = new Command("register-local-client",
            "Register a client for a spoke's local API (until people sign in individually).") { nodeId, name, displayName, writeConfig };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, options, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterLocalClientAsync(
                result.GetValue(nodeId)!, result.GetValue(name)!, result.GetValue(displayName) ?? result.GetValue(name)!, cancellationToken);
            var profile = new JsonObject
            {
                ["HubUrl"] = PublicUrl(result, options),
                ["HubCaCertificatePath"] = services.GetRequiredService<DevelopmentCertificates.Result>().CaCertificatePath,
                ["ClientId"] = credentials.ClientId,
                ["ClientSecret"] = credentials.ClientSecret,
            };
            AnsiConsole.MarkupLine($"[green]Local client [bold]{Markup.Escape(credentials.ClientId)}[/] registered.[/] The secret is shown only now.");
            PrintSettings("RCN", profile);
            if (result.GetValue(writeConfig) is { } file)
            {
                WriteConfig(file, profile);
            }
        }, cancellationToken));
        return command;
    }

    private static Command RegisterExpertCommand()
    {
        var expertId = new Option<string>("--expert-id") { Description = "Expert id, e.g. sato-pathology", Required = true };
        var name = new Option<string>("--name") { Description = "Display name, signed on reports, e.g. 佐藤 花子", Required = true };
        var specialties = new Option<string[]>("--specialty")
        {
            Description = "Organ system (repeatable): " + string.Join(", ", ProtoEnumNames.All<OrganSystem>()),
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var capacity = new Option<int>("--capacity") { Description = $"Open cases the expert takes at once, 1-{ContractLimits.ExpertCapacity}", DefaultValueFactory = _ => 20 };
        var writeConfig = new Option<FileInfo?>("--write-config") { Description = "Also write the expert client's credentials to this JSON file" };
        var command = new Command("register-expert", "Register an expert pathologist and their client credentials.") { expertId, name, specialties, capacity, writeConfig };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, options, cancellationToken) =>
        {
            var organs = result.GetValue(specialties)!.Select(ParseOrganSystem).ToList();
            await using var scope = services.CreateAsyncScope();
            var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>()
                .RegisterExpertAsync(result.GetValue(expertId)!, result.GetValue(name)!, organs, result.GetValue(capacity), cancellationToken);
            var assigned = await services.GetRequiredService<ConsultationStore>().AssignWaitingAsync(cancellationToken);
            var profile = new JsonObject
            {
                ["HubUrl"] = PublicUrl(result, options),
                ["HubCaCertificatePath"] = services.GetRequiredService<DevelopmentCertificates.Result>().CaCertificatePath,
                ["ClientId"] = credentials.ClientId,
                ["ClientSecret"] = credentials.ClientSecret,
            };
            AnsiConsole.MarkupLine($"[green]Expert [bold]{Markup.Escape(result.GetValue(expertId)!)}[/] registered[/]; {assigned} waiting consultation(s) assigned now.");
            PrintSettings("Expert", profile);
            if (result.GetValue(writeConfig) is { } file)
            {
                WriteConfig(file, profile);
            }
        }, cancellationToken));
        return command;
    }

    private static Command RevokeNodeCommand()
    {
        var nodeId = new Option<string>("--node-id") { Required = true };
        var command = new Command("revoke-node", "Revoke a spoke node and its clients; refused on their next call.") { nodeId };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, _, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var revoked = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RevokeNodeAsync(result.GetValue(nodeId)!, cancellationToken);
            AnsiConsole.MarkupLine($"[green]Revoked[/] {Markup.Escape(result.GetValue(nodeId)!)} and its clients: {Markup.Escape(string.Join(", ", revoked))}");
        }, cancellationToken));
        return command;
    }

    private static Command RotateNodeCertificateCommand()
    {
        var nodeId = new Option<string>("--node-id") { Required = true };
        var certificate = new Option<FileInfo>("--certificate") { Description = "The node's new client certificate (PEM)", Required = true };
        var command = new Command("rotate-node-certificate", "Register a node's new client certificate; tokens bound to the old one stop working.") { nodeId, certificate };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, _, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RotateNodeCertificateAsync(
                result.GetValue(nodeId)!, X509Certificate2.CreateFromPem(File.ReadAllText(result.GetValue(certificate)!.FullName)), cancellationToken);
            AnsiConsole.MarkupLine($"[green]Certificate rotated[/] for {Markup.Escape(credentials.ClientId)}: SHA-256 {credentials.CertificateThumbprint}");
        }, cancellationToken));
        return command;
    }

    private static Command RotateSecretCommand()
    {
        var clientId = new Option<string>("--client-id") { Required = true };
        var command = new Command("rotate-client-secret", "Issue a new secret for a client; the old one stops working.") { clientId };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, _, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RotateSecretAsync(result.GetValue(clientId)!, cancellationToken);
            AnsiConsole.MarkupLine("[green]New secret issued.[/] It is shown only now; update the client's configuration.");
            Console.WriteLine($"ClientSecret: {credentials.ClientSecret}");
        }, cancellationToken));
        return command;
    }

    private static Task<int> WithHubAsync(ParseResult result, Func<IServiceProvider, HubOptions, CancellationToken, Task> action, CancellationToken cancellationToken) =>
        WithHubAsync(result, async (services, options, token) =>
        {
            await action(services, options, token);
            return 0;
        }, cancellationToken);

    /// <summary>Where the store is, without the connection string's password.</summary>
    private static string StoreDescription(HubOptions options)
    {
        if (options.Storage.Provider == Storage.HubStorageProvider.Sqlite)
        {
            return $"SQLite, {options.DatabasePath}";
        }
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(options.Storage.ConnectionString);
        return $"PostgreSQL, database {connection.Database} on {connection.Host}:{connection.Port} as {connection.Username}";
    }

    private static async Task<int> WithHubAsync(ParseResult result, Func<IServiceProvider, HubOptions, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        await using var app = HubHost.Build([], Settings(result));
        await HubHost.InitializeAsync(app.Services, cancellationToken);
        try
        {
            return await action(app.Services, app.Services.GetRequiredService<IOptions<HubOptions>>().Value, cancellationToken);
        }
        catch (InvalidFieldsException exception)
        {
            // One line per error, each with its path, so that a long list can be worked through.
            await Console.Error.WriteLineAsync($"Refused, nothing changed ({exception.Violations.Count} error(s)):");
            foreach (var violation in exception.Violations)
            {
                await Console.Error.WriteLineAsync($"  {violation.Field}: {violation.Description}");
            }
            return 2;
        }
        catch (Exception exception) when (exception is NetworkException or IOException or System.Security.Cryptography.CryptographicException)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return 2;
        }
    }

    private static string PublicUrl(ParseResult result, HubOptions options) =>
        result.GetValue(HubUrl) ?? options.Issuer ?? options.EffectiveListenUrls[0];

    /// <summary>The hub's settings as a command sees them (appsettings, environment, --data), without starting anything.</summary>
    private static HubOptions OptionsOf(ParseResult result) => NodeConfiguration.BindValidated<HubOptions>(
        new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true).AddEnvironmentVariables()
            .AddInMemoryCollection(Settings(result)).Build(), HubOptions.Section);

    private const string BackupPrefix = "rcn-hub";

    /// <summary>
    /// The hub's stores (the embedded hub.db and identity.db, or its PostgreSQL database through pg_dump) and keys folder,
    /// encrypted, in generations. Continuous archiving stays PostgreSQL's answer for losing at most seconds.
    /// </summary>
    private static Command BackupCommand() => BackupCommandLine.Backup(
        "Back up the hub's store (SQLite, or PostgreSQL through pg_dump) and keys while it runs, encrypted (OpenPGP, AES-256), keeping generations.",
        BackupPrefix, BackupScopeOf);

    private static Command RestoreCommand() => BackupCommandLine.Restore("Restore the hub's store and keys from a backup (every hub instance stopped).",
        "What the hub acknowledged after this backup is not in it: run 'hub restored --restored-to <the backup's time> --by <administrator>' " +
        "before starting the hub, so that spokes send it again (docs/deploy-hub.md, \"Backups\").",
        BackupScopeOf);

    /// <summary>After a restore to an earlier point (a backup, or PostgreSQL's point-in-time recovery), before the hub serves again.</summary>
    private static Command RestoredCommand()
    {
        var restoredTo = new Option<string>("--restored-to")
        {
            Description = "The point the store was restored to, ISO 8601 with its offset (the backup's time, e.g. 2026-11-24T03:00:00Z)", Required = true,
        };
        var by = new Option<string>("--by") { Description = "The administrator recording it", Required = true };
        var command = new Command("restored",
            "Record that the store was restored to an earlier point: spokes' feeds move past what they may have read, and every spoke sends again what " +
            "the hub acknowledged after the point.") { restoredTo, by };
        command.SetAction((result, cancellationToken) => WithHubAsync(result, async (services, _, token) =>
        {
            if (!DateTimeOffset.TryParse(result.GetValue(restoredTo), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var point))
            {
                throw new InvalidFieldsException([new FieldViolation("--restored-to", "is not a point in time; give e.g. 2026-11-24T03:00:00Z")]);
            }
            var request = await services.GetRequiredService<Sync.HubRestores>().RecordAsync(point, result.GetValue(by)!, token);
            AnsiConsole.MarkupLine($"[green]Recorded[/] ({request.RequestId}). Spokes' feeds moved on by {Sync.HubRestores.FeedSequenceGap:N0}; each spoke " +
                $"sends again what it delivered since {Markup.Escape(Node.Validation.JapanTime.Format(point))} (less an hour) with its next status report. " +
                "Follow it with 'hub status' (outbox of each spoke).");
        }, cancellationToken));
        return command;
    }

    private static BackupScope BackupScopeOf(ParseResult result)
    {
        var options = OptionsOf(result);
        // On PostgreSQL the identity store (OpenIddict's tables) lives in the same database as the hub's own.
        IReadOnlyList<IBackupSource> stores = options.Storage.Provider == Storage.HubStorageProvider.Postgres
            ? [new Storage.PostgresBackupSource(options.Storage.ConnectionString!, options.Storage.PostgresBinaries)]
            : [new SqliteBackupSource(options.DatabasePath), new SqliteBackupSource(options.IdentityDatabasePath)];
        return new BackupScope(stores, options.KeysFolder, options.FullDataFolder);
    }

    private static Dictionary<string, string?> Settings(ParseResult result)
    {
        var settings = new Dictionary<string, string?>();
        if (result.GetValue(DataFolder) is { Length: > 0 } folder)
        {
            settings[$"{HubOptions.Section}:DataFolder"] = folder;
        }
        return settings;
    }

    private static void PrintSettings(string section, JsonObject values)
    {
        var table = new Table().AddColumn("setting").AddColumn("value");
        foreach (var (key, value) in Flatten(section, values))
        {
            table.AddRow(Markup.Escape(key), Markup.Escape(value));
        }
        AnsiConsole.Write(table);
    }

    private static IEnumerable<(string Key, string Value)> Flatten(string prefix, JsonObject values) =>
        values.SelectMany(pair => pair.Value is JsonObject child
            ? Flatten($"{prefix}__{pair.Key}", child)
            : [($"{prefix}__{pair.Key}", pair.Value?.ToString() ?? "")]);

    private static void WriteConfig(FileInfo file, JsonObject values)
    {
        var wrapped = values.ContainsKey("NodeId") ? new JsonObject { ["Spoke"] = values.DeepClone() } : values;
        // Note: the file may hold a client secret.
        PrivateFiles.Write(file.FullName, wrapped.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static OrganSystem ParseOrganSystem(string name) => ProtoEnumNames.Parse<OrganSystem>(name)
        ?? throw new InvalidFieldsException([new FieldViolation("specialty", $"'{name}' is not one of: {string.Join(", ", ProtoEnumNames.All<OrganSystem>())}")]);
}
