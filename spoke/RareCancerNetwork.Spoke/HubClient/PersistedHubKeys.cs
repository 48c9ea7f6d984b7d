using System.Text.Json;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>
/// Wraps OpenIddict validation's configuration manager so that the hub's published signing keys are
/// kept in the node's data folder: while the hub is unreachable — even after a spoke restart — local
/// users' tokens are still validated with the last keys the hub published. The hub is asked again
/// after a pause, and fresh keys replace the stored ones as soon as it answers.
/// </summary>
public sealed partial class PersistedHubKeys(IConfigurationManager<OpenIddictConfiguration> inner, string path, Uri issuer, ILogger logger, TimeProvider clock)
    : IConfigurationManager<OpenIddictConfiguration>
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(15);
    private DateTimeOffset _nextAttempt = DateTimeOffset.MinValue;
    private string _savedFingerprint = "";

    public async Task<OpenIddictConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        if (clock.GetUtcNow() >= _nextAttempt || !File.Exists(path))
        {
            try
            {
                var configuration = await inner.GetConfigurationAsync(cancel);
                Save(configuration);
                return configuration;
            }
            catch (Exception exception) when (exception is not OperationCanceledException && File.Exists(path))
            {
                _nextAttempt = clock.GetUtcNow() + RetryPause;
                LogUsingStoredKeys(logger, exception.GetType().Name);
            }
        }
        return Load();
    }

    public void RequestRefresh()
    {
        _nextAttempt = DateTimeOffset.MinValue;
        inner.RequestRefresh();
    }

    private sealed record StoredKey(string KeyId, string Modulus, string Exponent);

    private void Save(OpenIddictConfiguration configuration)
    {
        // Note: this runs for every token validated; exporting the keys only when their ids changed keeps it cheap
        // (exporting every key on every call cost 8% of the spoke's CPU under load, in the benchmark's profile).
        if (Fingerprint(configuration.SigningKeys.Select(k => k.KeyId)) == _savedFingerprint)
        {
            return;
        }
        var keys = configuration.SigningKeys.Select(ToStored).OfType<StoredKey>().ToList();
        var fingerprint = Fingerprint(keys.Select(k => k.KeyId));
        if (keys.Count == 0 || fingerprint == _savedFingerprint)
        {
            return;
        }
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(keys));
        File.Move(temporary, path, overwrite: true);
        _savedFingerprint = fingerprint;
    }

    private static string Fingerprint(IEnumerable<string?> keyIds) => string.Join(',', keyIds.OfType<string>().Order(StringComparer.Ordinal));

    private OpenIddictConfiguration Load()
    {
        var configuration = new OpenIddictConfiguration { Issuer = issuer };
        foreach (var key in JsonSerializer.Deserialize<List<StoredKey>>(File.ReadAllText(path)) ?? [])
        {
            configuration.SigningKeys.Add(new RsaSecurityKey(new System.Security.Cryptography.RSAParameters
            {
                Modulus = Base64UrlEncoder.DecodeBytes(key.Modulus),
                Exponent = Base64UrlEncoder.DecodeBytes(key.Exponent),
            })
            { KeyId = key.KeyId });
        }
        return configuration;
    }

    // Only public parts are kept: these keys verify signatures, they cannot sign.
    private static StoredKey? ToStored(SecurityKey key) => key switch
    {
        JsonWebKey { Kty: "RSA" } jwk when jwk.N is not null => new StoredKey(jwk.KeyId, jwk.N, jwk.E),
        RsaSecurityKey { Rsa: { } rsa } rsaKey => FromParameters(rsaKey.KeyId, rsa.ExportParameters(false)),
        RsaSecurityKey rsaKey => FromParameters(rsaKey.KeyId, rsaKey.Parameters),
        X509SecurityKey { PublicKey: System.Security.Cryptography.RSA rsa } x509 => FromParameters(x509.KeyId, rsa.ExportParameters(false)),
        _ => null,
    };

    private static StoredKey FromParameters(string keyId, System.Security.Cryptography.RSAParameters parameters) =>
        new(keyId, Base64UrlEncoder.Encode(parameters.Modulus), Base64UrlEncoder.Encode(parameters.Exponent));

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Hub unreachable for its signing keys ({Reason}); validating local tokens with the stored keys")]
    private static partial void LogUsingStoredKeys(ILogger logger, string reason);
}
