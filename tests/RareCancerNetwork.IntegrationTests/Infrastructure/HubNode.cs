using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Protos.Hosting;
using RareCancerNetwork.Protos.Transport;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

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

    public string DataFolder { get; }

    public string CaPath => Path.Combine(DataFolder, "tls", DevelopmentCertificates.CaCertificateFileName);

    public IServiceProvider Services => _app.Services;

    public static async Task<HubNode> StartAsync(string dataFolder, int port = 0, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hub:DataFolder"] = dataFolder,
            ["Hub:ListenUrls:0"] = $"https://127.0.0.1:{port}",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var app = HubHost.Build([], settings);
        await HubHost.InitializeAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        return new HubNode(app, NodeListener.BoundAddresses(app)[0] + "/", dataFolder);
    }

    public async Task<IssuedCredentials> RegisterSpokeAsync(string nodeId, string facilityCode)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterSpokeNodeAsync(nodeId, facilityCode, CancellationToken.None);
    }

    public async Task<IssuedCredentials> RegisterLocalClientAsync(string nodeId, string name)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterLocalClientAsync(nodeId, name, $"{name} 利用者", CancellationToken.None);
    }

    public async Task<IssuedCredentials> RegisterExpertAsync(string expertId, string name, int capacity, params OrganSystem[] specialties)
    {
        await using var scope = Services.CreateAsyncScope();
        var credentials = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RegisterExpertAsync(expertId, name, specialties, capacity, CancellationToken.None);
        await Services.GetRequiredService<ConsultationStore>().AssignWaitingAsync(CancellationToken.None);
        return credentials;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
