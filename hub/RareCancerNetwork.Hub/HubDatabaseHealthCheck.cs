using Microsoft.Extensions.Diagnostics.HealthChecks;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Protos.Storage;

namespace RareCancerNetwork.Hub;

/// <summary>Serving only when the store opens and answers.</summary>
internal sealed class HubDatabaseHealthCheck(HubDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var command = connection.Command("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Microsoft.Data.Sqlite.SqliteException exception)
        {
            return HealthCheckResult.Unhealthy("The hub database is unavailable.", exception);
        }
    }
}
