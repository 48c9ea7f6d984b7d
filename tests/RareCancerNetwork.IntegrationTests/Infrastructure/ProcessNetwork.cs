using System.Text.Json;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// A hub and one spoke as their own OS processes, set up as an operator would (the command line), so that a test can
/// kill either with SIGKILL and start it again on the same data and address. One soft-tissue expert.
/// </summary>
public sealed class ProcessNetwork : IDisposable
{
    /// <summary>
    /// Marks tests whose hub processes keep their embedded SQLite store whatever the run: CI's second pass (every hub on
    /// PostgreSQL) leaves them out rather than run them twice on the same store.
    /// </summary>
    public const string HubStoreTrait = "HubStore";

    public const string OwnHubStore = "own";

    private readonly TempFolder _folder;
    private readonly string[] _hubArguments;
    private string[] _spokeArguments = [];
    private readonly Dictionary<string, string> _spokeEnvironment = new()
    {
        ["Spoke__Delivery__InitialBackoffSeconds"] = "0.2",
        ["Spoke__Delivery__MaxBackoffSeconds"] = "1",
    };

    private ProcessNetwork(TempFolder folder, int port)
    {
        _folder = folder;
        HubUrl = $"https://127.0.0.1:{port}/";
        _hubArguments = ["--data", folder.Sub("hub"), "run", "--listen", $"https://127.0.0.1:{port}"];
    }

    public string HubUrl { get; }
    public NodeProcess Hub { get; private set; } = null!;
    public NodeProcess Spoke { get; private set; } = null!;
    public string SpokeUrl { get; private set; } = "";
    public string LocalToken { get; private set; } = "";
    public string ExpertToken { get; private set; } = "";
    public string HubDataFolder => _folder.Sub("hub");
    public string SpokeDataFolder => _folder.Sub("spoke");

    public static async Task<ProcessNetwork> StartAsync(TempFolder folder)
    {
        var network = new ProcessNetwork(folder, NodeProcess.FreeLoopbackPort());
        try
        {
            await network.StartHubAsync();
            var admin = new[] { "--data", folder.Sub("hub"), "--hub-url", network.HubUrl };
            // The node creates its key pair; the administrator registers only the certificate.
            var certificateOutput = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "node-certificate", "--data", folder.Sub("spoke"), "--node-id", "spoke-osaka");
            var certificate = System.Text.RegularExpressions.Regex.Match(certificateOutput, @"Certificate: (\S+)").Groups[1].Value;
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-spoke", "--node-id", "spoke-osaka", "--facility", "CORE-010", "--certificate", certificate, "--write-config", folder.Sub("spoke.json")]);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-local-client", "--node-id", "spoke-osaka", "--name", "cli", "--write-config", folder.Sub("profile.json")]);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-expert", "--expert-id", "kato", "--name", "加藤 恵", "--specialty", "soft_tissue", "--write-config", folder.Sub("expert.json")]);
            network.LocalToken = await TokenFromProfileAsync(folder.Sub("profile.json"), NetworkClaims.Scopes.Local);
            network.ExpertToken = await TokenFromProfileAsync(folder.Sub("expert.json"), NetworkClaims.Scopes.Expert);
            network._spokeArguments = ["run", "--config", folder.Sub("spoke.json"), "--data", folder.Sub("spoke"), "--listen", "https://127.0.0.1:0"];
            await network.StartSpokeAsync();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Starts (or, after a kill, restarts) the hub at the same address and data.</summary>
    public async Task StartHubAsync()
    {
        Hub?.Dispose();
        Hub = NodeProcess.Start(NodeProcess.HubProgram, _hubArguments);
        await Hub.WaitForLineAsync("Hub listening on");
    }

    /// <summary>Starts (or restarts) the spoke on the same data; its local API may come back at another port.</summary>
    public async Task StartSpokeAsync()
    {
        Spoke?.Dispose();
        Spoke = NodeProcess.Start(NodeProcess.SpokeProgram, _spokeArguments, _spokeEnvironment);
        SpokeUrl = await Spoke.WaitForLineAsync(@"Spoke listening on (\S+)");
    }

    public LocalConsultationService.LocalConsultationServiceClient Local() =>
        new(Clients.Channel(SpokeUrl, Path.Combine(SpokeDataFolder, "tls", "dev-ca.crt"), LocalToken));

    public ExpertConsultationService.ExpertConsultationServiceClient Expert() =>
        new(Clients.Channel(HubUrl, Path.Combine(HubDataFolder, "tls", "dev-ca.crt"), ExpertToken));

    public Task<LocalConsultation> AtSpokeAsync(string id, Func<LocalConsultation, bool> done, string what, TimeSpan? limit = null) =>
        Eventually.UntilAsync(async () => (await Local().GetConsultationAsync(new() { ConsultationId = id })).Consultation, done, what, limit);

    private static async Task<string> TokenFromProfileAsync(string path, string scope)
    {
        using var profile = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var root = profile.RootElement;
        var credentials = new IssuedCredentials(root.GetProperty("ClientId").GetString()!, root.GetProperty("ClientSecret").GetString()!, scope);
        return await Clients.TokenAsync(root.GetProperty(nameof(HubUrl)).GetString()!, root.GetProperty("HubCaCertificatePath").GetString()!, credentials, scope);
    }

    public void Dispose()
    {
        Spoke?.Dispose();
        Hub?.Dispose();
    }
}
