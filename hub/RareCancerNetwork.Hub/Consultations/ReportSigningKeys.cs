using System.Data.Common;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// The hub's report-signing keys, in its store so that every instance signs with the same key. The newest key
/// that is active (its start has come) and not retired signs; every key ever used stays published, so a rollover
/// never leaves an old report unverifiable. Read at each signing (reports are rare), so a new key takes over
/// without a restart.
/// </summary>
public sealed class ReportSigningKeys(HubDatabase database, TimeProvider clock)
{
    /// <summary>The key to sign with now, created on first use when the store holds none.</summary>
    public static async Task<X509Certificate2> ActiveAsync(DbConnection connection, DbTransaction transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await ActivePkcs12Async(connection, transaction, now, cancellationToken) is { } pkcs12)
        {
            return X509CertificateLoader.LoadPkcs12(pkcs12, null, X509KeyStorageFlags.EphemeralKeySet);
        }
        var created = Create(now.AddMinutes(-5));
        await InsertAsync(connection, transaction, created, now, cancellationToken);
        return created;
    }

    private static async Task<byte[]?> ActivePkcs12Async(DbConnection connection, DbTransaction transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using (var command = connection.Command(
            "SELECT pkcs12 FROM report_signing_keys WHERE retired_at IS NULL AND not_before <= @now ORDER BY not_before DESC, key_id LIMIT 1", transaction)
            .With("@now", now.ToDbText()))
        {
            return await command.ExecuteScalarAsync(cancellationToken) as byte[];
        }
    }

    /// <summary>Creates the first key at start-up, so that spokes can fetch it before the first report.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => database.WriteAsync(async (connection, transaction) =>
    {
        var now = clock.GetUtcNow();
        if (await ActivePkcs12Async(connection, transaction, now, cancellationToken) is null)
        {
            using var created = Create(now.AddMinutes(-5));
            await InsertAsync(connection, transaction, created, now, cancellationToken);
        }
    }, cancellationToken);

    /// <summary>Adds the next key; it signs from <paramref name="activatesAt"/> on.</summary>
    public async Task<ReportSigningKey> AddAsync(DateTimeOffset activatesAt, CancellationToken cancellationToken)
    {
        using var created = Create(activatesAt);
        await database.WriteAsync((connection, transaction) => InsertAsync(connection, transaction, created, clock.GetUtcNow(), cancellationToken), cancellationToken);
        return Describe(created, retired: false);
    }

    /// <summary>Stops a key signing (a suspected leak, or simply age); what it signed stays verifiable.</summary>
    public Task<bool> RetireAsync(string keyId, CancellationToken cancellationToken) => database.WriteAsync(async (connection, transaction) =>
    {
        await using var retire = connection.Command("UPDATE report_signing_keys SET retired_at = @now WHERE key_id = @id AND retired_at IS NULL", transaction)
            .With("@now", clock.GetUtcNow().ToDbText()).With("@id", keyId);
        return await retire.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    /// <summary>Every key's public part, oldest first.</summary>
    public async Task<IReadOnlyList<ReportSigningKey>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT certificate, retired_at FROM report_signing_keys ORDER BY not_before, key_id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ReportSigningKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            using var certificate = X509CertificateLoader.LoadCertificate((byte[])reader[0]);
            keys.Add(Describe(certificate, retired: !reader.IsDBNull(1)));
        }
        return keys;
    }

    private static ReportSigningKey Describe(X509Certificate2 certificate, bool retired) => new()
    {
        KeyId = ReportSignatures.KeyId(certificate),
        CertificateDer = ByteString.CopyFrom(certificate.Export(X509ContentType.Cert)),
        NotBefore = Timestamp.FromDateTimeOffset(certificate.NotBefore.ToUniversalTime()),
        Retired = retired,
    };

    private static async Task InsertAsync(DbConnection connection, DbTransaction transaction, X509Certificate2 certificate, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var insert = connection.Command(
            "INSERT INTO report_signing_keys (key_id, pkcs12, certificate, not_before, added_at) VALUES (@id, @pkcs12, @certificate, @notBefore, @now)", transaction)
            .With("@id", ReportSignatures.KeyId(certificate)).With("@pkcs12", certificate.Export(X509ContentType.Pkcs12))
            .With("@certificate", certificate.Export(X509ContentType.Cert)).With("@notBefore", new DateTimeOffset(certificate.NotBefore.ToUniversalTime()).ToDbText())
            .With("@now", now.ToDbText());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    // A long-lived key: a signature must stay checkable for as long as the report matters; rollover replaces it when wanted.
    private static X509Certificate2 Create(DateTimeOffset notBefore)
    {
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest("CN=Rare Cancer Network hub report signing", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        using var certificate = request.CreateSelfSigned(notBefore, notBefore.AddYears(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
    }
}
