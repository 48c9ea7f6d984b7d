using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// The hub checks every call against its registry: a revoked client (or a client of a revoked node)
/// and a disabled person are refused on their next call, whatever their token's lifetime; a node must
/// present the certificate currently registered (a rotated-away certificate is refused at once).
/// One primary-key lookup per call.
/// </summary>
internal sealed class RegistryStanding(HubDatabase database) : ICallerStanding
{
    public async Task<bool> IsInGoodStandingAsync(NetworkCaller caller, string? clientCertificateThumbprint, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = caller.IsPerson
            ? connection.Command("SELECT 1 FROM users WHERE user_id = @subject AND disabled_at IS NULL")
            : connection.Command(
                """
                SELECT 1 FROM api_clients c LEFT JOIN spoke_nodes n ON n.node_id = c.node_id
                WHERE c.client_id = @subject AND c.revoked_at IS NULL AND n.revoked_at IS NULL
                  AND (c.kind <> 'spoke_node' OR c.certificate_thumbprint = @thumbprint)
                """);
        command.With("@subject", caller.Subject).With("@thumbprint", clientCertificateThumbprint);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
