using OpenIddict.Client;

namespace RareCancerNetwork.HubClient;

/// <summary>
/// Access tokens from the hub's token endpoint (client-credentials grant through OpenIddict's
/// client), cached until shortly before they expire.
/// </summary>
public sealed class HubTokenSource(OpenIddictClientService client, IReadOnlyList<string> scopes, TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _token;
    private DateTimeOffset _expiresAt;

    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        if (_token is not null && clock.GetUtcNow() < _expiresAt - RenewBefore)
        {
            return _token;
        }
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_token is null || clock.GetUtcNow() >= _expiresAt - RenewBefore)
            {
                var result = await client.AuthenticateWithClientCredentialsAsync(new()
                {
                    Scopes = [.. scopes],
                    CancellationToken = cancellationToken,
                });
                _token = result.AccessToken;
                _expiresAt = result.AccessTokenExpirationDate ?? clock.GetUtcNow().AddMinutes(5);
            }
            return _token;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Forget the cached token (the hub refused it), so the next call fetches a new one.</summary>
    public void Invalidate() => _token = null;

    public DateTimeOffset? ExpiresAt => _token is null ? null : _expiresAt;

    public void Dispose() => _lock.Dispose();
}
