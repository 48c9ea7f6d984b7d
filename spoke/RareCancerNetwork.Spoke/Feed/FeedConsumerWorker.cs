using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Directory;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Feed;

/// <summary>
/// Keeps a subscription to the node's hub feed, resuming from the saved cursor. Reconnects with
/// exponential backoff and jitter (Polly) while the hub is away; a session that worked resets it.
/// </summary>
public sealed partial class FeedConsumerWorker(FeedStore store, DirectorySync directory, ReportSigningKeyStore reportKeys, HubConnection hub, IOptions<SpokeOptions> options,
    ILogger<FeedConsumerWorker> logger)
    : BackgroundService
{
    private static readonly TimeSpan HealthySession = TimeSpan.FromSeconds(30);
    private const int EventsPerTransaction = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pipeline = HubRetry.Create(options.Value.Delivery, HubFailures.IsWorthRetrying,
            (attempt, delay, failure) => LogReconnecting(logger, attempt, delay.TotalSeconds, HubFailures.Describe(failure)), stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await pipeline.ExecuteAsync(ConsumeOneSessionAsync, stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Note: a background worker must never stop the node (a refusal the hub may later lift, a local fault): pause and go on.
                LogWorkerFailed(logger, exception.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(options.Value.Delivery.MaxBackoffSeconds), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>One subscription. Returns normally after a healthy session ended, so backoff starts afresh.</summary>
    private async ValueTask ConsumeOneSessionAsync(CancellationToken cancellationToken)
    {
        var cursor = await store.CursorAsync(cancellationToken);
        var started = Stopwatch.StartNew();
        var applied = 0;
        try
        {
            // A spoke new to the network, or back after a while, first catches up with the directory as it stands.
            await directory.CatchUpAsync(0, cancellationToken);
            await reportKeys.RefreshAsync(hub, null, cancellationToken);
            using var call = hub.Sync.SubscribeEvents(new() { AfterSequence = cursor }, cancellationToken: cancellationToken);
            var stream = call.ResponseStream;
            var next = stream.MoveNext(cancellationToken);
            while (await next)
            {
                // The events that have already arrived are applied together, in one transaction: a burst (a batch of
                // consultations at the hub is hundreds of events) costs a few commits at the spoke, not one each.
                var events = new List<SubscribeEventsResponse> { stream.Current };
                next = stream.MoveNext(cancellationToken);
                while (next.IsCompleted && events.Count < EventsPerTransaction && await next)
                {
                    events.Add(stream.Current);
                    next = stream.MoveNext(cancellationToken);
                }
                foreach (var @event in events)
                {
                    if (@event.DirectoryChanged is { } change)
                    {
                        // The copy holds the announced version before the feed moves past the announcement.
                        await directory.CatchUpAsync(change.DirectoryVersion, cancellationToken);
                    }
                    if (@event.ReportIssued is { } report)
                    {
                        // A report signed with a key this spoke does not hold yet (after a rollover): fetch the keys first.
                        await reportKeys.RefreshAsync(hub, report, cancellationToken);
                    }
                }
                var results = await store.ApplyAllAsync(events, cancellationToken);
                applied += events.Count;
                foreach (var (@event, result) in events.Zip(results).Where(r => r.Second != FeedApplyResult.Applied))
                {
                    LogSkipped(logger, @event.Sequence, @event.EventCase, @event.ConsultationId, result);
                }
            }
        }
        catch (RpcException exception) when (applied > 0 || started.Elapsed > HealthySession)
        {
            LogSessionEnded(logger, applied, exception.StatusCode);
            return;
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Unauthenticated)
        {
            hub.Tokens.Invalidate();
            throw;
        }
        if (applied == 0 && started.Elapsed < HealthySession)
        {
            // The hub closed an empty stream at once (shutting down): treat it as a failure to back off.
            throw new RpcException(new Status(StatusCode.Unavailable, "The hub closed the event feed."));
        }
    }

    [LoggerMessage(EventId = 2204, Level = LogLevel.Error, Message = "Hub feed consumption failed unexpectedly ({ExceptionType}); resuming after a pause")]
    private static partial void LogWorkerFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Hub feed unavailable; reconnect {Attempt} in {DelaySeconds:F1}s ({Reason})")]
    private static partial void LogReconnecting(ILogger logger, int attempt, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Hub feed session ended after {Applied} events ({StatusCode}); reconnecting")]
    private static partial void LogSessionEnded(ILogger logger, int applied, StatusCode statusCode);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "Feed event {Sequence} ({EventKind}, consultation '{ConsultationId}') skipped: {Result}")]
    private static partial void LogSkipped(ILogger logger, long sequence, RareCancerNetwork.Protos.V1.SubscribeEventsResponse.EventOneofCase eventKind, string consultationId, FeedApplyResult result);
}
