using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>A token key as operators see it.</summary>
public sealed record TokenKeyInfo(string Sha256, DateTimeOffset NotBefore, DateTimeOffset NotAfter);

/// <summary>
/// The hub's token signing and encryption keys, kept in the hub's store (<c>token_keys</c>) so that every
/// instance signs and validates with the same keys, and tokens (and spokes' cached key sets) stay valid
/// across restarts. Every unexpired, unretired signing key is published; OpenIddict signs with the valid
/// one that expires last, so a key added for rollover takes over when it activates and the previous one
/// keeps validating its tokens until it is retired.
/// </summary>
public sealed class TokenKeys(HubDatabase database, IOptions<HubOptions> options, TimeProvider clock)
{
    private const string Signing = "signing";
    private const string Encryption = "encryption";

    /// <summary>The encryption key file of hubs from before keys moved into the store; imported once, then left alone.</summary>
    private const string LegacyEncryptionFileName = "token-encryption.pfx";

    /// <summary>Creates the first signing and encryption keys (or imports a data folder's key files) when the store has none.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => database.WriteAsync(async (connection, transaction) =>
    {
        var folder = options.Value.KeysFolder;
        foreach (var (purpose, pattern, usage) in new[]
        {
            (Signing, "token-signing*.pfx", X509KeyUsageFlags.DigitalSignature),
            (Encryption, LegacyEncryptionFileName, X509KeyUsageFlags.KeyEncipherment),
        })
        {
            await using (var count = connection.Command("SELECT COUNT(*) FROM token_keys WHERE purpose = @purpose", transaction).With("@purpose", purpose))
            {
                if (await count.ScalarInt64Async(cancellationToken) > 0)
                {
                    continue;
                }
            }
            var legacy = System.IO.Directory.Exists(folder) ? System.IO.Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal).ToList() : [];
            if (legacy.Count == 0)
            {
                var now = clock.GetUtcNow();
                using var created = CreateCertificate(usage, now.AddMinutes(-5), now.AddYears(2));
                await InsertAsync(connection, transaction, purpose, created, clock.GetUtcNow(), cancellationToken);
            }
            foreach (var path in legacy)
            {
                using var imported = X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
                await InsertAsync(connection, transaction, purpose, imported, clock.GetUtcNow(), cancellationToken);
            }
        }
    }, cancellationToken);

    /// <summary>Every signing key that is neither expired nor retired, pending ones included.</summary>
    public Task<IReadOnlyList<X509Certificate2>> LoadSigningKeysAsync(CancellationToken cancellationToken) => LoadAsync(Signing, cancellationToken);

    /// <summary>The encryption key that expires last.</summary>
    public async Task<X509Certificate2> LoadEncryptionKeyAsync(CancellationToken cancellationToken) =>
        (await LoadAsync(Encryption, cancellationToken)).MaxBy(k => k.NotAfter)
        ?? throw new InvalidOperationException("The hub's store holds no token encryption key; initialise the hub first.");

    /// <summary>Adds a signing key for rollover; it signs from <paramref name="activatesAt"/> on, after each instance restarts.</summary>
    public async Task<TokenKeyInfo> AddSigningKeyAsync(DateTimeOffset activatesAt, CancellationToken cancellationToken)
    {
        using var certificate = CreateCertificate(X509KeyUsageFlags.DigitalSignature, activatesAt, activatesAt.AddYears(2).AddDays(1));
        await database.WriteAsync((connection, transaction) => InsertAsync(connection, transaction, Signing, certificate, clock.GetUtcNow(), cancellationToken), cancellationToken);
        return Describe(certificate);
    }

    /// <summary>Takes a signing key out of use: tokens it signed are refused once each instance restarts.</summary>
    public Task<bool> RetireSigningKeyAsync(string sha256, CancellationToken cancellationToken) => database.WriteAsync(async (connection, transaction) =>
    {
        await using var retire = connection.Command(
            "UPDATE token_keys SET retired_at = @now WHERE sha256 = @sha256 AND purpose = @purpose AND retired_at IS NULL", transaction)
            .With("@now", clock.GetUtcNow().ToDbText()).With("@sha256", sha256).With("@purpose", Signing);
        return await retire.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public static TokenKeyInfo Describe(X509Certificate2 certificate) =>
        new(Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256)), certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());

    private async Task<IReadOnlyList<X509Certificate2>> LoadAsync(string purpose, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT pkcs12 FROM token_keys WHERE purpose = @purpose AND retired_at IS NULL AND not_after > @now ORDER BY not_before, sha256")
            .With("@purpose", purpose).With("@now", clock.GetUtcNow().ToDbText());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<X509Certificate2>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(X509CertificateLoader.LoadPkcs12((byte[])reader[0], null, X509KeyStorageFlags.EphemeralKeySet));
        }
        return keys;
    }

    private static async Task InsertAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string purpose,
        X509Certificate2 certificate, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var info = Describe(certificate);
        await using var insert = connection.Command(
            """
            INSERT INTO token_keys (sha256, purpose, pkcs12, not_before, not_after, added_at) VALUES (@sha256, @purpose, @pkcs12, @notBefore, @notAfter, @now)
            ON CONFLICT (sha256) DO NOTHING
            """, transaction)
            .With("@sha256", info.Sha256).With("@purpose", purpose).With("@pkcs12", certificate.Export(X509ContentType.Pkcs12))
            .With("@notBefore", info.NotBefore.ToDbText()).With("@notAfter", info.NotAfter.ToDbText()).With("@now", now.ToDbText());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static X509Certificate2 CreateCertificate(X509KeyUsageFlags usage, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest($"CN=Rare Cancer Network hub {usage}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        using var certificate = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
    }
}

/// <summary>
/// The keys this instance loaded from the store when it started; OpenIddict's options read them from here.
/// A key added or retired later takes effect at the next restart of each instance.
/// </summary>
public sealed class TokenKeyRing
{
    private IReadOnlyList<X509Certificate2>? _signing;
    private X509Certificate2? _encryption;

    public IReadOnlyList<X509Certificate2> Signing => _signing ?? throw NotLoaded();

    public X509Certificate2 Encryption => _encryption ?? throw NotLoaded();

    public async Task LoadAsync(TokenKeys keys, CancellationToken cancellationToken)
    {
        _signing = await keys.LoadSigningKeysAsync(cancellationToken);
        _encryption = await keys.LoadEncryptionKeyAsync(cancellationToken);
    }

    private static InvalidOperationException NotLoaded() =>
        new("The token keys are not loaded; HubHost.InitializeAsync must run before the hub serves.");
}
