using OpenIddict.Abstractions;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// Removes token and authorization entries OpenIddict no longer needs (expired, redeemed or revoked
/// for more than a day), so identity.db does not grow with every 15-minute token.
/// </summary>
internal sealed partial class TokenPruningWorker(IServiceScopeFactory scopes, TimeProvider clock, ILogger<TokenPruningWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);
    private static readonly TimeSpan KeepFor = TimeSpan.FromDays(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var threshold = clock.GetUtcNow() - KeepFor;
                var tokens = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(threshold, stoppingToken);
                var authorizations = await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(threshold, stoppingToken);
                LogPruned(logger, tokens, authorizations);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is Microsoft.EntityFrameworkCore.DbUpdateException or System.Data.Common.DbException)
            {
                // Next round; pruning is housekeeping, never a reason to stop the hub.
                LogFailed(logger, exception.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Pruned {Tokens} token and {Authorizations} authorization entries")]
    private static partial void LogPruned(ILogger logger, long tokens, long authorizations);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Token pruning failed ({Reason}); retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, string reason);
}
