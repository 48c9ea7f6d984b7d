using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Client;
using RareCancerNetwork.Hub;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Spoke;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Benchmarks;

/// <summary>
/// A real hub and a real spoke, in this process, on 127.0.0.1 with TLS, SQLite files on disk and real
/// tokens: what a site runs, with validation, authorization, audit and durability exactly as configured
/// for production. Only the per-caller rate budgets are raised: a budget is a brake against one runaway
/// client, not the speed of the product.
/// </summary>
public sealed class BenchmarkNetwork : IAsyncDisposable
{
    public const string FacilityCode = "CORE-004";
    public const string NodeId = "spoke-bench";

    private static readonly Dictionary<string, string?> Unthrottled = new()
    {
        ["RateLimit:RequestsPerSecond"] = "100000",
        ["RateLimit:Burst"] = "100000",
        ["RateLimit:NodeRequestsPerSecond"] = "100000",
        ["RateLimit:NodeBurst"] = "100000",
    };

    private readonly string _folder;
    private readonly List<GrpcChannel> _channels = [];
    private WebApplication? _hub;
    private WebApplication? _spoke;

    private readonly IReadOnlyDictionary<string, string?> _hubStore;

    private BenchmarkNetwork(string folder, IReadOnlyDictionary<string, string?>? hubStore)
    {
        _folder = folder;
        _hubStore = hubStore ?? new Dictionary<string, string?>();
    }

    /// <summary>Where the hub keeps its store: SQLite in its data folder, or the PostgreSQL database of the settings given.</summary>
    public string HubStore => _hubStore.TryGetValue("Hub:Storage:Provider", out var provider) && provider is not null ? provider : "Sqlite";

    public string HubFolder => Path.Combine(_folder, "hub");
    public string SpokeFolder => Path.Combine(_folder, "spoke");
    public string HubUrl { get; private set; } = "";
    public string SpokeUrl { get; private set; } = "";
    public string HubCaPath => Path.Combine(HubFolder, "tls", DevelopmentCertificates.CaCertificateFileName);
    public string SpokeCaPath => Path.Combine(SpokeFolder, "tls", DevelopmentCertificates.CaCertificateFileName);
    public IServiceProvider HubServices => _hub!.Services;
    public IServiceProvider SpokeServices => _spoke!.Services;
    public string LocalToken { get; private set; } = "";
    public string DirectoryToken { get; private set; } = "";
    public string ExpertToken { get; private set; } = "";
    private string _nodeClientId = "";

    /// <param name="hubStore">Hub storage settings (<c>Hub:Storage:Provider</c>, <c>…:ConnectionString</c>); none for the embedded SQLite.</param>
    public static async Task<BenchmarkNetwork> StartAsync(string folder, IReadOnlyDictionary<string, string?>? hubStore = null)
    {
        var network = new BenchmarkNetwork(folder, hubStore);
        await network.StartHubAsync(port: 0);
        var certificate = NodeClientCertificate.LoadOrCreate(Path.Combine(network.SpokeFolder, "keys"), NodeId);
        await using (var scope = network.HubServices.CreateAsyncScope())
        {
            var registry = scope.ServiceProvider.GetRequiredService<ClientRegistry>();
            network._nodeClientId = (await registry.RegisterSpokeNodeAsync(NodeId, FacilityCode, certificate, CancellationToken.None)).ClientId;
            var local = await registry.RegisterLocalClientAsync(NodeId, "bench", "ベンチマーク", CancellationToken.None);
            var expert = await registry.RegisterExpertAsync("bench-expert", "ベンチ専門医", [Protos.V1.OrganSystem.SoftTissue], 1_000, CancellationToken.None);
            network.LocalToken = await TokenAsync(network.HubUrl, network.HubCaPath, local, NetworkClaims.Scopes.Local);
            network.DirectoryToken = await TokenAsync(network.HubUrl, network.HubCaPath, expert, NetworkClaims.Scopes.Directory);
            // The slides' expert: bone tumours, which no other scenario sends, so its cases never queue behind their backlog.
            var slideExpert = await registry.RegisterExpertAsync("bench-slide-expert", "ベンチ骨軟部専門医", [Protos.V1.OrganSystem.Bone], 1_000, CancellationToken.None);
            network.ExpertToken = await TokenAsync(network.HubUrl, network.HubCaPath, slideExpert, NetworkClaims.Scopes.Expert);
        }
        await network.StartSpokeAsync();
        return network;
    }

    /// <summary>Stops the hub (its data stays), as an outage would.</summary>
    public async Task StopHubAsync()
    {
        await _hub!.StopAsync();
        await _hub.DisposeAsync();
        _hub = null;
    }

    /// <summary>Starts the hub again on its data folder and its former port, where the spoke looks for it.</summary>
    public Task RestartHubAsync() => StartHubAsync(new Uri(HubUrl).Port);

    public GrpcChannel Channel(string url, string caPath, string token)
    {
        var channel = HubClientRegistration.CreateChannel(url, caPath, _ => Task.FromResult(token));
        _channels.Add(channel);
        return channel;
    }

    private async Task StartHubAsync(int port)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hub:DataFolder"] = HubFolder,
            ["Hub:ListenUrls:0"] = $"https://127.0.0.1:{port}",
            ["Logging:LogLevel:Default"] = "Error",
        };
        foreach (var (key, value) in Unthrottled)
        {
            settings["Hub:" + key] = value;
        }
        foreach (var (key, value) in _hubStore)
        {
            settings[key] = value;
        }
        _hub = HubHost.Build([], settings);
        await HubHost.InitializeAsync(_hub.Services, CancellationToken.None);
        await _hub.StartAsync();
        HubUrl = NodeListener.BoundAddresses(_hub)[0] + "/";
    }

    private async Task StartSpokeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Spoke:NodeId"] = NodeId,
            ["Spoke:FacilityCode"] = FacilityCode,
            ["Spoke:DataFolder"] = SpokeFolder,
            ["Spoke:ListenUrls:0"] = "https://127.0.0.1:0",
            ["Spoke:Hub:Url"] = HubUrl,
            ["Spoke:Hub:CaCertificatePath"] = HubCaPath,
            ["Spoke:Hub:ClientId"] = _nodeClientId,
            ["Spoke:Delivery:InitialBackoffSeconds"] = "0.1",
            ["Spoke:Delivery:MaxBackoffSeconds"] = "1",
            ["Logging:LogLevel:Default"] = "Error",
        };
        foreach (var (key, value) in Unthrottled)
        {
            settings["Spoke:" + key] = value;
        }
        _spoke = SpokeHost.Build([], settings);
        await SpokeHost.InitializeAsync(_spoke.Services, CancellationToken.None);
        await _spoke.StartAsync();
        SpokeUrl = NodeListener.BoundAddresses(_spoke)[0];
    }

    private static async Task<string> TokenAsync(string hubUrl, string hubCaPath, IssuedCredentials credentials, params string[] scopes)
    {
        await using var services = new ServiceCollection().AddLogging()
            .AddHubTokenClient(hubUrl, hubCaPath, credentials.ClientId, credentials.ClientSecret)
            .BuildServiceProvider();
        return await new HubTokenSource(services.GetRequiredService<OpenIddictClientService>(), scopes, TimeProvider.System).GetAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        foreach (var app in new[] { _spoke, _hub })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        SqliteConnection.ClearAllPools();
    }
}
