using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Spoke.Feed;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>
/// Tells the hub, every half minute, how this node's synchronisation stands: outbox depth and oldest entry, refused
/// and parked entries, feed cursor. Counts only. A report that cannot reach the hub is simply skipped: the hub shows the
/// last one it has, and its age is the news.
/// </summary>
public sealed partial class SyncStatusReporter(OutboxStore outbox, FeedStore feed, HubConnection hub, IOptions<SpokeOptions> options, TimeProvider clock,
    ILogger<SyncStatusReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.Delivery.StatusReportSeconds), clock);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReportAsync(stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                var reason = HubFailures.Describe(exception);
                LogReportSkipped(logger, reason);
            }
            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var status = await outbox.StatusAsync(cancellationToken);
        var report = new Protos.V1.ReportSyncStatusRequest
        {
            OutboxPending = status.Pending, Refused = status.Refused, Parked = status.Parked.Count, FeedCursor = await feed.CursorAsync(cancellationToken),
        };
        if (status.OldestPendingAt is { } oldest)
        {
            report.OldestPendingAt = Timestamp.FromDateTimeOffset(oldest);
        }
        await hub.Sync.ReportSyncStatusAsync(report, deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: cancellationToken);
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Debug, Message = "Sync status not reported to the hub this time ({Reason})")]
    private static partial void LogReportSkipped(ILogger logger, string reason);
}
