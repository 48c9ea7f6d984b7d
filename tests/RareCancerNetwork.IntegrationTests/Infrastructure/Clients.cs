using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Client;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.HubClient;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Real tokens from the hub's token endpoint, and TLS channels that trust only the node's CA.</summary>
public static class Clients
{
    public static Task<string> TokenAsync(string hubUrl, string hubCaPath, IssuedCredentials credentials, params string[] scopes) =>
        TokenAsync(hubUrl, hubCaPath, credentials.ClientId, credentials.ClientSecret, null, scopes);

    /// <summary>A node's token, obtained with its client certificate and bound to it.</summary>
    public static Task<string> TokenAsync(string hubUrl, string hubCaPath, RegisteredNode node, params string[] scopes) =>
        TokenAsync(hubUrl, hubCaPath, node.ClientId, null, node.Certificate, scopes);

    private static async Task<string> TokenAsync(string hubUrl, string hubCaPath, string clientId, string? secret,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate, string[] scopes)
    {
        await using var services = new ServiceCollection().AddLogging()
            .AddHubTokenClient(hubUrl, hubCaPath, clientId, secret, certificate)
            .BuildServiceProvider();
        var source = new HubTokenSource(services.GetRequiredService<OpenIddictClientService>(), scopes, TimeProvider.System);
        var token = await source.GetAsync(CancellationToken.None);
        LogScan.Sensitive(token, "access token");
        LogScan.Sensitive(secret, "client secret");
        return token;
    }

    public static GrpcChannel Channel(string url, string caPath, string? accessToken,
        System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null) => accessToken is null
        ? GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = PinnedCaTrust.FromFile(caPath).CreateHandler() })
        : HubClientRegistration.CreateChannel(url, caPath, _ => Task.FromResult(accessToken), clientCertificate);
}
