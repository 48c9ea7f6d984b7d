using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>
/// The hub's report-signing keys as this spoke holds them, for verifying reports offline. Fetched at every feed
/// session's start and whenever a report names a key not held yet; a key once held is never dropped (the hub
/// keeps publishing retired keys, and the reports they signed stay verifiable).
/// </summary>
public sealed partial class ReportSigningKeyStore(SpokeDatabase database, TimeProvider clock, ILogger<ReportSigningKeyStore> logger)
{
    public async Task<IReadOnlyList<X509Certificate2>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT certificate FROM report_signing_keys ORDER BY not_before, key_id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<X509Certificate2>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(X509CertificateLoader.LoadCertificate((byte[])reader[0]));
        }
        return keys;
    }

    /// <summary>Fetches the hub's keys when <paramref name="report"/> names one not held (or, without a report, always).</summary>
    public async Task RefreshAsync(HubConnection hub, ConsultationReport? report, CancellationToken cancellationToken)
    {
        if (report is not null && (report.SignatureJws.Length == 0 || await HoldsAsync(KeyIdOf(report), cancellationToken)))
        {
            return;
        }
        var response = await hub.Sync.ListReportSigningKeysAsync(new(), cancellationToken: cancellationToken);
        var now = clock.GetUtcNow().ToDbText();
        var added = await database.WriteAsync(async (connection, transaction) =>
        {
            var held = new HashSet<string>(StringComparer.Ordinal);
            await using (var ids = connection.Command("SELECT key_id FROM report_signing_keys", transaction))
            await using (var reader = await ids.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    held.Add(reader.GetString(0));
                }
            }
            var newKeys = 0;
            foreach (var key in response.Keys)
            {
                // Note: the key id is the certificate's own thumbprint, recomputed here: a mislabelled key is never taken.
                using var certificate = X509CertificateLoader.LoadCertificate(key.CertificateDer.ToByteArray());
                if (ReportSignatures.KeyId(certificate) != key.KeyId)
                {
                    continue;
                }
                await using var upsert = connection.Command(
                    """
                    INSERT INTO report_signing_keys (key_id, certificate, not_before, retired, fetched_at) VALUES ($id, $certificate, $notBefore, $retired, $now)
                    ON CONFLICT (key_id) DO UPDATE SET retired = excluded.retired, fetched_at = excluded.fetched_at
                    """, transaction)
                    .With("$id", key.KeyId).With("$certificate", key.CertificateDer.ToByteArray()).With("$notBefore", key.NotBefore.ToDateTimeOffset().ToDbText())
                    .With("$retired", key.Retired ? 1 : 0).With("$now", now);
                newKeys += held.Contains(key.KeyId) ? 0 : 1;
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }
            return newKeys;
        }, cancellationToken);
        if (added > 0)
        {
            LogFetched(logger, added, response.Keys.Count);
        }
    }

    private async Task<bool> HoldsAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT 1 FROM report_signing_keys WHERE key_id = $id").With("$id", keyId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static string KeyIdOf(ConsultationReport report)
    {
        try
        {
            return new JsonWebToken(report.SignatureJws).Kid ?? "";
        }
        catch (ArgumentException)
        {
            return "";
        }
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Report-signing keys fetched from the hub: {Added} new, {Total} published")]
    private static partial void LogFetched(ILogger logger, int added, int total);
}
