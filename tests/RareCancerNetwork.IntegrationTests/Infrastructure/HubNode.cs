using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>A registered spoke node: its client id and the certificate its tokens are bound to.</summary>
public sealed record RegisteredNode(IssuedCredentials Credentials, System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate)
{
    public string ClientId => Credentials.ClientId;
}

/// <summary>An in-process hub on real Kestrel with TLS on 127.0.0.1 (port 0), with its own data folder.</summary>
public sealed class HubNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubNode(WebApplication app, string url, string dataFolder)
    {
        _app = app;
        Url = url;
        DataFolder = dataFolder;
    }

    public string Url { get; }

    public int Port => new Uri(Url).Port;

    public string DataFolder { get; }

    public string CaPath => Path.Combine(DataFolder, "tls", DevelopmentCertificates.CaCertificateFileName);

    public IServiceProvider Services => _app.Services;

    public static async Task<HubNode> StartAsync(string dataFolder, int port = 0, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hub:DataFolder"] = dataFolder,
            ["Hub:ListenUrls:0"] = $"https://127.0.0.1:{port}",
            // Information and above reaches the run's log scan; the console shows warnings only.
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:Console:LogLevel:Default"] = "Warning",
        };
        // RCN_TEST_HUB_STORE=Postgres runs every hub of the suite on a fresh PostgreSQL database (CI's second pass).
        if (string.Equals(Environment.GetEnvironmentVariable("RCN_TEST_HUB_STORE"), "Postgres", StringComparison.OrdinalIgnoreCase)
            && extra?.ContainsKey("Hub:Storage:Provider") != true && !File.Exists(Path.Combine(dataFolder, "hub.db")))
        {
            settings["Hub:Storage:Provider"] = "Postgres";
            settings["Hub:Storage:ConnectionString"] = await PostgresDatabaseFor(dataFolder);
        }
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var app = HubHost.Build([], settings);
        app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(LogScan.Provider);
        await HubHost.InitializeAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        return new HubNode(app, NodeListener.BoundAddresses(app)[0] + "/", dataFolder);
    }

    /// <summary>For tests of the SQLite file itself (tampering with it, keys beside it): never moved to PostgreSQL.</summary>
    public static readonly IDictionary<string, string?> EmbeddedStore = new Dictionary<string, string?> { ["Hub:Storage:Provider"] = "Sqlite" };

    // A hub restarted on the same data folder finds the same database again.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> PostgresDatabases = new();

    private static async Task<string> PostgresDatabaseFor(string dataFolder)
    {
        if (PostgresDatabases.TryGetValue(dataFolder, out var existing))
        {
            return existing;
        }
        var created = await (await RareCancerNetwork.Tests.Shared.PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        return PostgresDatabases.GetOrAdd(dataFolder, created);
    }

    /// <summary>Registers a spoke node with a client certificate created in the spoke's data folder (as the spoke would).</summary>
    public async Task<RegisteredNode> RegisterSpokeAsync(string nodeId, string facilityCode, string spokeDataFolder)
    {
        var certificate = NodeClientCertificate.LoadOrCreate(Path.Combine(spokeDataFolder, "keys"), nodeId);
        await using var scope = Services.CreateAsyncScope();
        var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterSpokeNodeAsync(nodeId, facilityCode, certificate, CancellationToken.None);
        LogScan.Sensitive(credentials.ClientSecret, "client secret");
        return new RegisteredNode(credentials, certificate);
    }

    public async Task<IssuedCredentials> RegisterLocalClientAsync(string nodeId, string name)
    {
        await using var scope = Services.CreateAsyncScope();
        var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterLocalClientAsync(nodeId, name, $"{name} 利用者", CancellationToken.None);
        LogScan.Sensitive(credentials.ClientSecret, "client secret");
        return credentials;
    }

    public async Task<IssuedCredentials> RegisterExpertAsync(string expertId, string name, int capacity, params OrganSystem[] specialties)
    {
        await using var scope = Services.CreateAsyncScope();
        var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterExpertAsync(expertId, name, specialties, capacity, CancellationToken.None);
        LogScan.Sensitive(credentials.ClientSecret, "client secret");
        await Services.GetRequiredService<ConsultationStore>().AssignWaitingAsync(CancellationToken.None);
        return credentials;
    }

    /// <summary>The settings that point a hub command-line process at this hub's store (its data folder, and PostgreSQL when it runs on it).</summary>
    public IDictionary<string, string> StoreEnvironment()
    {
        var storage = Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HubOptions>>().Value.Storage;
        var environment = new Dictionary<string, string> { ["Hub__DataFolder"] = DataFolder, ["Hub__Storage__Provider"] = storage.Provider.ToString() };
        if (storage.ConnectionString is { } connectionString)
        {
            environment["Hub__Storage__ConnectionString"] = connectionString;
        }
        return environment;
    }

    /// <summary>A change to the directory as the administrator's command makes it (published to every spoke's feed).</summary>
    public async Task<long> ChangeDirectoryAsync(Func<DirectoryAdministration, Task<long>> change)
    {
        await using var scope = Services.CreateAsyncScope();
        return await change(scope.ServiceProvider.GetRequiredService<DirectoryAdministration>());
    }

    /// <summary>Loads the trial catalogue shipped as the example (docs/examples/trials.json), as 'hub directory trials load' does.</summary>
    public async Task<long> LoadExampleTrialsAsync()
    {
        var trials = await TrialCatalogueFile.ParseAsync(await File.ReadAllTextAsync(RareCancerNetwork.Tests.Shared.RepositoryRoot.File("docs", "examples", "trials.json")));
        return await ChangeDirectoryAsync(admin => admin.LoadTrialsAsync(trials, CancellationToken.None));
    }

    /// <summary>How many rows of a table carry this id, on either provider.</summary>
    public Task<long> CountAsync(string table, string idColumn, string id) => CountAsync(table, idColumn, [id]);

    /// <summary>How many rows of a table carry one of these ids, on either provider.</summary>
    public async Task<long> CountAsync(string table, string idColumn, IReadOnlyCollection<string> ids)
    {
        await using var connection = await Services.GetRequiredService<RareCancerNetwork.Hub.Storage.HubDatabase>().OpenAsync(CancellationToken.None);
        await using var command = RareCancerNetwork.Node.Storage.SqlCommands.Command(connection,
            $"SELECT COUNT(*) FROM {table} WHERE {idColumn} IN ({string.Join(", ", ids.Select((_, i) => $"@id{i}"))})");
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            RareCancerNetwork.Node.Storage.SqlCommands.With(command, $"@id{i}", id);
        }
        return await RareCancerNetwork.Node.Storage.SqlCommands.ScalarInt64Async(command, CancellationToken.None);
    }

    /// <summary>A storage fault on demand: the hub's store refuses to insert this one row (INTERNAL for the call), on either provider.</summary>
    public async Task PoisonInsertAsync(string table, string idColumn, string id)
    {
        var database = Services.GetRequiredService<RareCancerNetwork.Hub.Storage.HubDatabase>();
        var name = $"poison_{id.Replace('-', '_')}";
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = database.Provider == RareCancerNetwork.Hub.Storage.HubStorageProvider.Postgres
            ? $"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated storage fault'; END $$; " +
              $"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN (NEW.{idColumn} = '{id}') EXECUTE FUNCTION {name}();"
            : $"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN NEW.{idColumn} = '{id}' BEGIN SELECT RAISE(ABORT, 'simulated storage fault'); END;";
        await command.ExecuteNonQueryAsync();
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
