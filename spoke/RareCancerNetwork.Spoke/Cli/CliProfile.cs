using System.Text.Json;
using Grpc.Net.Client;
using OpenIddict.Client;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// A local user's connection profile: the client credentials the hub issued for this spoke
/// (<c>hub register-local-client --write-config</c>) plus where the spoke listens.
/// </summary>
public sealed record CliProfile(string HubUrl, string? HubCaCertificatePath, string ClientId, string ClientSecret)
{
    public static CliProfile Load(string path)
    {
        var profile = JsonSerializer.Deserialize<CliProfile>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"The profile {path} is empty.");
        return string.IsNullOrWhiteSpace(profile.HubUrl) || string.IsNullOrWhiteSpace(profile.ClientId) || string.IsNullOrWhiteSpace(profile.ClientSecret)
            ? throw new InvalidDataException($"The profile {path} needs HubUrl, ClientId and ClientSecret.")
            : profile;
    }
}

/// <summary>
/// An authenticated channel to the spoke's local API. The access token is cached beside the
/// profile (owner-only) so the command line keeps working while the hub is briefly unreachable.
/// </summary>
public sealed class LocalApiConnection : IAsyncDisposable
{
    // The token client's services, when tokens come from a client profile (a session refreshes itself).
    private readonly ServiceProvider? _services;
    private readonly GrpcChannel _channel;

    private LocalApiConnection(ServiceProvider? services, GrpcChannel channel)
    {
        _services = services;
        _channel = channel;
        Consultations = new LocalConsultationService.LocalConsultationServiceClient(channel);
        Registry = new LocalRegistryService.LocalRegistryServiceClient(channel);
        Directory = new LocalDirectoryService.LocalDirectoryServiceClient(channel);
        Referrals = new LocalReferralService.LocalReferralServiceClient(channel);
        Hotline = new LocalHotlineService.LocalHotlineServiceClient(channel);
    }

    public LocalConsultationService.LocalConsultationServiceClient Consultations { get; }

    public LocalRegistryService.LocalRegistryServiceClient Registry { get; }

    public LocalDirectoryService.LocalDirectoryServiceClient Directory { get; }

    public LocalReferralService.LocalReferralServiceClient Referrals { get; }

    public LocalHotlineService.LocalHotlineServiceClient Hotline { get; }

    /// <summary>A person's session (from 'login') when there is one; else the client profile.</summary>
    public static LocalApiConnection Open(string sessionPath, string profilePath, string spokeUrl, string? spokeCaPath)
    {
        if (PersonSession.Load(sessionPath) is { } session)
        {
            return new LocalApiConnection(null, HubClientRegistration.CreateChannel(spokeUrl, spokeCaPath, session.AccessTokenAsync));
        }
        return Open(profilePath, spokeUrl, spokeCaPath);
    }

    public static LocalApiConnection Open(string profilePath, string spokeUrl, string? spokeCaPath)
    {
        var profile = CliProfile.Load(profilePath);
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddHubTokenClient(profile.HubUrl, profile.HubCaCertificatePath, profile.ClientId, profile.ClientSecret)
            .BuildServiceProvider();
        var tokens = new HubTokenSource(services.GetRequiredService<OpenIddictClientService>(), [NetworkClaims.Scopes.Local], TimeProvider.System);
        var cache = new CachedToken(profilePath + ".token", tokens);
        var channel = HubClientRegistration.CreateChannel(spokeUrl, spokeCaPath, cache.GetAsync);
        return new LocalApiConnection(services, channel);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    private sealed class CachedToken(string path, HubTokenSource source)
    {
        private sealed record Stored(string AccessToken, DateTimeOffset ExpiresAt);

        public async Task<string> GetAsync(CancellationToken cancellationToken)
        {
            if (File.Exists(path)
                && JsonSerializer.Deserialize<Stored>(await File.ReadAllTextAsync(path, cancellationToken)) is { } stored
                && stored.ExpiresAt > DateTimeOffset.UtcNow.AddMinutes(1))
            {
                return stored.AccessToken;
            }
            var token = await source.GetAsync(cancellationToken);
            PrivateFiles.Write(path, JsonSerializer.Serialize(new Stored(token, source.ExpiresAt ?? DateTimeOffset.UtcNow)));
            return token;
        }
    }
}
