using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Spoke;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>An in-process spoke node on real Kestrel with TLS on 127.0.0.1 (port 0), talking to a hub.</summary>
public sealed class SpokeNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SpokeNode(WebApplication app, string url, string dataFolder, string nodeId)
    {
        _app = app;
        Url = url;
        DataFolder = dataFolder;
        NodeId = nodeId;
    }

    public string Url { get; }

    public string DataFolder { get; }

    public string NodeId { get; }

    public string CaPath => Path.Combine(DataFolder, "tls", DevelopmentCertificates.CaCertificateFileName);

    public IServiceProvider Services => _app.Services;

    public static async Task<SpokeNode> StartAsync(string dataFolder, string hubUrl, string hubCaPath, string nodeId, string facilityCode, RegisteredNode node,
        string? hubIssuer = null, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Spoke:NodeId"] = nodeId,
            ["Spoke:FacilityCode"] = facilityCode,
            ["Spoke:DataFolder"] = dataFolder,
            ["Spoke:ListenUrls:0"] = "https://127.0.0.1:0",
            ["Spoke:Hub:Url"] = hubUrl,
            ["Spoke:Hub:CaCertificatePath"] = hubCaPath,
            ["Spoke:Hub:Issuer"] = hubIssuer,
            ["Spoke:Hub:ClientId"] = node.ClientId,
            ["Spoke:Delivery:InitialBackoffSeconds"] = "0.1",
            ["Spoke:Delivery:MaxBackoffSeconds"] = "1",
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:Console:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var app = SpokeHost.Build([], settings);
        app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(LogScan.Provider);
        await SpokeHost.InitializeAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        return new SpokeNode(app, NodeListener.BoundAddresses(app)[0], dataFolder, nodeId);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
