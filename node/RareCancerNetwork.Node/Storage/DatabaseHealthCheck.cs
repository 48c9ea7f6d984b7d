using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RareCancerNetwork.Node.Storage;

/// <summary>gRPC health reports SERVING only while the node's database opens and answers.</summary>
public sealed class DatabaseHealthCheck(IRelationalStore database) : IHealthCheck
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
        catch (System.Data.Common.DbException exception)
        {
            return HealthCheckResult.Unhealthy("The node database is unavailable.", exception);
        }
    }
}
