using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Client;

namespace RareCancerNetwork.HubClient;

/// <summary>
/// Wires a client of the hub: OpenIddict's client for tokens (trusting only the network CA)
/// and a gRPC channel that sends them. Used by the spoke node and by the command line.
/// </summary>
public static class HubClientRegistration
{
    /// <summary>
    /// A client of the hub's token endpoint: confidential (client credentials) when a secret is given,
    /// otherwise the public command-line client (device authorization grant, refresh tokens).
    /// </summary>
    public static IServiceCollection AddHubTokenClient(this IServiceCollection services, string hubUrl, string? caCertificatePath, string clientId, string? clientSecret,
        X509Certificate2? clientCertificate = null)
    {
        var trust = PinnedCaTrust.FromFile(caCertificatePath);
        services.AddOpenIddict().AddClient(client =>
        {
            if (clientSecret is null && clientCertificate is null)
            {
                client.AllowDeviceAuthorizationFlow().AllowRefreshTokenFlow();
            }
            else
            {
                client.AllowClientCredentialsFlow();
            }
            client.DisableTokenStorage();
            client.UseSystemNetHttp().ConfigureHttpClientHandler(trust.Apply);
            var registration = new OpenIddictClientRegistration
            {
                Issuer = IssuerUri(hubUrl),
                ClientId = clientId,
                ClientSecret = clientSecret,
            };
            if (clientCertificate is not null)
            {
                // Note: the node authenticates with its certificate (self_signed_tls_client_auth), and the
                // hub binds the access token to it.
                registration.SigningCredentials.Add(new Microsoft.IdentityModel.Tokens.X509SigningCredentials(clientCertificate));
            }
            client.AddRegistration(registration);
        });
        return services;
    }

    /// <summary>Issuers compare exactly; the hub's always ends with a slash.</summary>
    public static Uri IssuerUri(string hubUrl) => new(hubUrl.EndsWith('/') ? hubUrl : hubUrl + "/");

    /// <summary>Longest pause between attempts to reconnect to an unreachable hub.</summary>
    public static readonly TimeSpan MaxReconnectBackoff = TimeSpan.FromSeconds(5);

    /// <summary>A TLS channel (trusting only the given CA) that sends a bearer token with every call.</summary>
    /// <param name="headers">Sent on every call besides the token (a spoke node's contract and schema versions).</param>
    public static GrpcChannel CreateChannel(string url, string? caCertificatePath, Func<CancellationToken, Task<string>> accessToken,
        X509Certificate2? clientCertificate = null, IReadOnlyList<(string Name, string Value)>? headers = null)
    {
        var handler = PinnedCaTrust.FromFile(caCertificatePath).CreateHandler();
        if (clientCertificate is not null)
        {
            // The same certificate the token is bound to.
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        var credentials = CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            metadata.Add("Authorization", $"Bearer {await accessToken(context.CancellationToken)}");
            foreach (var (name, value) in headers ?? [])
            {
                metadata.Add(name, value);
            }
        });
        return GrpcChannel.ForAddress(url, new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, credentials),
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            // Note: gRPC's own reconnect backoff grows to 2 minutes by default, during which every call fails at once:
            // a spoke would wait that long to notice the hub is back after an outage (seen in the catch-up benchmark).
            MaxReconnectBackoff = MaxReconnectBackoff,
        });
    }
}
