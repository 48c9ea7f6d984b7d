using System.Text.Json;
using OpenIddict.Abstractions;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.IntegrationTests.Infrastructure;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>What an outside OAuth client finds in discovery is what the token endpoint does (openid is OpenID Connect's own).</summary>
[Collection(NetworkCollection.Name)]
public sealed class DiscoveryTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Discovery_ListsTheNetworksScopes()
    {
        using var http = new HttpClient(PinnedCaTrust.FromFile(network.Hub.CaPath).CreateHandler());
        using var discovery = JsonDocument.Parse(await http.GetStringAsync(new Uri(new Uri(network.Hub.Url), "/.well-known/openid-configuration"), Ct));

        var scopes = discovery.RootElement.GetProperty("scopes_supported").EnumerateArray().Select(s => s.GetString()).ToList();

        Assert.Equal(["offline_access", "openid", "rcn.admin", "rcn.directory", "rcn.expert", "rcn.hotline", "rcn.local", "rcn.registry", "rcn.stats", "rcn.sync"], scopes.Order());
    }

    [Fact]
    public async Task TokenRequest_WithoutAnyScope_IsRefusedAtOnce()
    {
        var client = await network.Hub.RegisterLocalClientAsync("spoke-a", "no-scope");

        var refusal = await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() => Clients.TokenAsync(network.Hub.Url, network.Hub.CaPath, client));

        Assert.Equal(OpenIddictConstants.Errors.InvalidScope, refusal.Error);
    }
}
