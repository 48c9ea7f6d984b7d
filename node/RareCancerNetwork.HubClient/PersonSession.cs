using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Client;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.HubClient;

/// <summary>
/// A person's command-line session: signed in with the device authorization grant (RFC 8628), kept
/// in an owner-only file, its access token renewed with the rotating refresh token when it expires.
/// </summary>
public sealed class PersonSession
{
    private static readonly string[] RequestedScopes =
    [
        NetworkClaims.Scopes.OfflineAccess, NetworkClaims.Scopes.Local, NetworkClaims.Scopes.Expert,
        NetworkClaims.Scopes.Directory, NetworkClaims.Scopes.Statistics, NetworkClaims.Scopes.Admin, NetworkClaims.Scopes.Registry, NetworkClaims.Scopes.Hotline,
    ];

    private readonly string _path;
    private Stored _stored;

    private PersonSession(string path, Stored stored)
    {
        _path = path;
        _stored = stored;
    }

    /// <summary>What is kept on disk.</summary>
    public sealed record Stored(string HubUrl, string? HubCaCertificatePath, string AccessToken, DateTimeOffset AccessTokenExpiresAt, string? RefreshToken, string Subject);

    public string Subject => _stored.Subject;

    public string HubUrl => _stored.HubUrl;

    public string? HubCaCertificatePath => _stored.HubCaCertificatePath;

    /// <summary>Runs the device flow: <paramref name="show"/> tells the person where to go, then this polls until they did.</summary>
    public static async Task<PersonSession> SignInAsync(string path, string hubUrl, string? caCertificatePath,
        Action<string, Uri, Uri?> show, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var services = Services(hubUrl, caCertificatePath);
        var client = services.GetRequiredService<OpenIddictClientService>();
        var challenge = await client.ChallengeUsingDeviceAsync(new() { Scopes = [.. RequestedScopes], CancellationToken = cancellationToken });
        show(challenge.UserCode, challenge.VerificationUri, challenge.VerificationUriComplete);
        // OpenIddict polls at the server's interval and honours slow_down (RFC 8628 §3.5).
        var result = await client.AuthenticateWithDeviceAsync(new()
        {
            DeviceCode = challenge.DeviceCode,
            Interval = challenge.Interval,
            Timeout = timeout < challenge.ExpiresIn ? timeout : challenge.ExpiresIn,
            DisableUserInfo = true,
            CancellationToken = cancellationToken,
        });
        var session = new PersonSession(path, new Stored(hubUrl, caCertificatePath, result.AccessToken,
            result.AccessTokenExpirationDate ?? DateTimeOffset.UtcNow.AddMinutes(5), result.RefreshToken,
            // For display only; the token is validated by the services that receive it.
            new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(result.AccessToken).Subject));
        await session.SaveAsync(cancellationToken);
        return session;
    }

    public static PersonSession? Load(string path) =>
        File.Exists(path) && JsonSerializer.Deserialize<Stored>(File.ReadAllText(path)) is { } stored ? new PersonSession(path, stored) : null;

    /// <summary>A valid access token, refreshed (and the refresh token rotated) when close to expiry.</summary>
    public async Task<string> AccessTokenAsync(CancellationToken cancellationToken)
    {
        if (_stored.AccessTokenExpiresAt > DateTimeOffset.UtcNow.AddMinutes(1))
        {
            return _stored.AccessToken;
        }
        if (_stored.RefreshToken is null)
        {
            throw new InvalidOperationException("The session has expired; sign in again with 'login'.");
        }
        await using var services = Services(_stored.HubUrl, _stored.HubCaCertificatePath);
        var result = await services.GetRequiredService<OpenIddictClientService>().AuthenticateWithRefreshTokenAsync(new()
        {
            RefreshToken = _stored.RefreshToken,
            DisableUserInfo = true,
            CancellationToken = cancellationToken,
        });
        _stored = _stored with
        {
            AccessToken = result.AccessToken,
            AccessTokenExpiresAt = result.AccessTokenExpirationDate ?? DateTimeOffset.UtcNow.AddMinutes(5),
            RefreshToken = result.RefreshToken ?? _stored.RefreshToken,
        };
        await SaveAsync(cancellationToken);
        return _stored.AccessToken;
    }

    // Note: the file holds a refresh token.
    private Task SaveAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        PrivateFiles.Write(_path, JsonSerializer.Serialize(_stored));
        return Task.CompletedTask;
    }

    private static ServiceProvider Services(string hubUrl, string? caCertificatePath) =>
        new ServiceCollection().AddLogging().AddHubTokenClient(hubUrl, caCertificatePath, NetworkClaims.CommandLineClientId, null).BuildServiceProvider();
}
