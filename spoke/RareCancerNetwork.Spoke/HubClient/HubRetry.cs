using Polly;
using Polly.Retry;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>
/// The retry schedule of the spoke's background work against the hub (outbox delivery, event feed):
/// exponential with jitter, capped, forever — only for failures the hub or network recover from.
/// </summary>
public static class HubRetry
{
    public static ResiliencePipeline Create(DeliveryOptions delivery, CancellationToken stoppingToken, Action<int, TimeSpan, string> onRetry) =>
        new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => HubFailures.IsTransient(e) && !stoppingToken.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(delivery.InitialBackoffSeconds),
            MaxDelay = TimeSpan.FromSeconds(delivery.MaxBackoffSeconds),
            OnRetry = args =>
            {
                onRetry(args.AttemptNumber + 1, args.RetryDelay, HubFailures.Describe(args.Outcome.Exception!));
                return default;
            },
        }).Build();
}
