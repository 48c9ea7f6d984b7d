using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Telemetry;
using RareCancerNetwork.Spoke.Feed;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>
/// Tells the hub, every half minute, how this node's synchronisation stands: outbox depth and oldest entry, refused
/// and parked entries, feed cursor. Counts only. A report that cannot reach the hub is skipped (the hub shows the last
/// one it has, and its age is the news) and the failure is kept for the node's own status; a success records the
/// contact and the hub's feed head, for the feed lag.
/// </summary>
public sealed partial class SyncStatusReporter(OutboxStore outbox, FeedStore feed, HubContactStore contact, HubConnection hub, Node.Audit.AuditLog audit,
    OutboxSignal outboxSignal, Attachments.AttachmentSignal attachmentSignal, IOptions<SpokeOptions> options, TimeProvider clock,
    ILogger<SyncStatusReporter> logger) : BackgroundService
{
    // The gauges read the last report's figures: a scrape costs the node nothing.
    private OutboxStatus? _lastStatus;
    private long _feedLag;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var node = options.Value.NodeId;
        using var pending = NodeGauges.Register(NodeGauges.OutboxPending, node, () => _lastStatus?.Pending ?? 0);
        using var parked = NodeGauges.Register(NodeGauges.OutboxParked, node, () => _lastStatus?.Parked.Count ?? 0);
        using var lag = NodeGauges.Register(NodeGauges.FeedLag, node, () => _feedLag);
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
                // Kept for 'spoke status': how long the hub has been out of reach, or that it refuses this node's version.
                var reason = HubFailures.Describe(exception);
                LogReportSkipped(logger, reason);
                await RecordFailureAsync(reason);
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

    private async Task RecordFailureAsync(string reason)
    {
        try
        {
            await contact.RecordFailureAsync(reason, CancellationToken.None);
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            // Note: the node's status then shows an older failure; the reporter must never stop the node.
            var kind = exception.GetType().Name;
            LogReportSkipped(logger, kind);
        }
    }

    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var status = _lastStatus = await outbox.StatusAsync(cancellationToken);
        var report = new Protos.V1.ReportSyncStatusRequest
        {
            OutboxPending = status.Pending, Refused = status.Refused, Parked = status.Parked.Count, FeedCursor = await feed.CursorAsync(cancellationToken),
            AuditSequence = await audit.LengthAsync(cancellationToken),
        };
        if (status.OldestPendingAt is { } oldest)
        {
            report.OldestPendingAt = Timestamp.FromDateTimeOffset(oldest);
        }
        var answer = await hub.Sync.ReportSyncStatusAsync(report, deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: cancellationToken);
        await contact.RecordContactAsync(answer.FeedHead, answer.ContractVersion, cancellationToken);
        _feedLag = Math.Max(0, answer.FeedHead - report.FeedCursor);
        foreach (var request in answer.RedeliveryRequests)
        {
            if (await outbox.RedeliverAsync(request, cancellationToken) is { } entries)
            {
                LogRedelivering(logger, request.RequestId, request.RestoredTo.ToDateTimeOffset(), entries);
                outboxSignal.Wake();
                attachmentSignal.Wake();
            }
        }
    }

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning,
        Message = "The hub was restored to {RestoredTo:u} (request {RequestId}): {Entries} entries it had acknowledged since are sent again")]
    private static partial void LogRedelivering(ILogger logger, string requestId, DateTimeOffset restoredTo, int entries);

    [LoggerMessage(EventId = 2601, Level = LogLevel.Debug, Message = "Sync status not reported to the hub this time ({Reason})")]
    private static partial void LogReportSkipped(ILogger logger, string reason);
}
