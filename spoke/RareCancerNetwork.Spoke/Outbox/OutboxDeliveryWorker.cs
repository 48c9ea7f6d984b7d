using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly.Retry;
using Polly;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>
/// Delivers the outbox to the hub, oldest first. The consultation id is the idempotency key, so a
/// delivery repeated after a crash or a lost answer is applied once at the hub. While the hub is
/// unreachable it backs off exponentially with jitter (Polly) and resumes when it returns.
/// </summary>
public sealed partial class OutboxDeliveryWorker(
    OutboxStore outbox, OutboxSignal signal, HubConnection hub, IOptions<SpokeOptions> options, ILogger<OutboxDeliveryWorker> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pipeline = HubRetry.Create(options.Value.Delivery, stoppingToken,
            (attempt, delay, reason) => LogRetrying(logger, attempt, delay.TotalSeconds, reason));

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await pipeline.ExecuteAsync(DeliverPendingAsync, stoppingToken);
                await signal.WaitAsync(PollInterval, stoppingToken);
            }
            catch (Exception exception) when (stoppingToken.IsCancellationRequested && exception is OperationCanceledException or Grpc.Core.RpcException)
            {
                return;
            }
        }
    }

    private const int AuditBatchSize = 500;

    private async ValueTask DeliverPendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var pending = await outbox.PendingAsync(AuditBatchSize, cancellationToken);
            if (pending.Count == 0)
            {
                return;
            }
            // In order; consecutive audit entries travel together in one call.
            for (var i = 0; i < pending.Count;)
            {
                if (pending[i].Kind == OutboxStore.ForwardAuditKind)
                {
                    var run = pending.Skip(i).TakeWhile(e => e.Kind == OutboxStore.ForwardAuditKind).ToList();
                    await ForwardAuditAsync(run, cancellationToken);
                    i += run.Count;
                }
                else
                {
                    await DeliverAsync(pending[i], cancellationToken);
                    i++;
                }
            }
        }
    }

    private async Task ForwardAuditAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var request = new ForwardAuditEntriesRequest();
        request.Entries.AddRange(entries.Select(e => AuditEntry.Parser.ParseFrom(e.Payload)));
        try
        {
            await hub.Sync.ForwardAuditEntriesAsync(request, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
            await outbox.MarkDeliveredAsync(entries, cancellationToken);
        }
        catch (Exception exception) when (HubFailures.IsTransient(exception) && !cancellationToken.IsCancellationRequested)
        {
            if (exception is RpcException { StatusCode: StatusCode.Unauthenticated })
            {
                hub.Tokens.Invalidate();
            }
            throw;
        }
        catch (RpcException exception)
        {
            // Note: a refused audit batch means the trails disagree; keep it for the operator, never drop it silently.
            await outbox.MarkFailedAsync(entries, HubFailures.Describe(exception), CancellationToken.None);
            LogAuditRefused(logger, entries[0].AggregateId, exception.StatusCode);
        }
    }

    private async Task DeliverAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Kind != OutboxStore.DeliverConsultationKind)
        {
            await outbox.MarkFailedAsync([entry], $"Unknown outbox entry kind '{entry.Kind}'.", cancellationToken);
            return;
        }
        try
        {
            var request = DeliverConsultationRequest.Parser.ParseFrom(entry.Payload);
            var response = await hub.Sync.DeliverConsultationAsync(request, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken);
            await outbox.MarkConsultationDeliveredAsync(entry, cancellationToken);
            LogDelivered(logger, entry.AggregateId, response.Duplicate, entry.Attempts + 1);
        }
        catch (Exception exception) when (HubFailures.IsTransient(exception) && !cancellationToken.IsCancellationRequested)
        {
            if (exception is RpcException { StatusCode: StatusCode.Unauthenticated })
            {
                hub.Tokens.Invalidate();
            }
            await outbox.RecordFailedAttemptAsync(entry, HubFailures.Describe(exception), CancellationToken.None);
            throw;
        }
        catch (RpcException exception)
        {
            await outbox.MarkConsultationRejectedAsync(entry, HubFailures.Describe(exception), CancellationToken.None);
            LogRejected(logger, entry.AggregateId, exception.StatusCode);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Consultation {ConsultationId} delivered to the hub (duplicate: {Duplicate}, attempt {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string consultationId, bool duplicate, int attempt);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Hub delivery failed; retry {Attempt} in {DelaySeconds:F1}s ({Reason})")]
    private static partial void LogRetrying(ILogger logger, int attempt, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "The hub refused audit entries from sequence {FirstSequence} ({StatusCode}); they are kept locally")]
    private static partial void LogAuditRefused(ILogger logger, string firstSequence, StatusCode statusCode);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "The hub refused consultation {ConsultationId} ({StatusCode}); it will not be resent")]
    private static partial void LogRejected(ILogger logger, string consultationId, StatusCode statusCode);
}
