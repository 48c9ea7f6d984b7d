using Polly;
using Polly.Retry;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>
/// The retry schedule of one call from the spoke's background work to the hub: exponential with jitter,
/// capped, forever, for the failures <c>shouldRetry</c> names. A delay the hub asks for
/// (RetryInfo, e.g. its rate limit) is honoured instead of guessed. Each call starts its schedule afresh,
/// so a success resets the backoff.
/// </summary>
public static class HubRetry
{
    public static ResiliencePipeline Create(DeliveryOptions delivery, Func<Exception, bool> shouldRetry, Action<int, TimeSpan, Exception> onRetry,
        CancellationToken stoppingToken) =>
        new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => shouldRetry(e) && !stoppingToken.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(delivery.InitialBackoffSeconds),
            MaxDelay = TimeSpan.FromSeconds(delivery.MaxBackoffSeconds),
            // The hub's own word beats our guess; a little jitter keeps many spokes from returning at once.
            DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is { } failure && HubFailures.RetryAfter(failure) is { } asked
                ? asked + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 100))
                : (TimeSpan?)null),
            OnRetry = args =>
            {
                onRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!);
                return default;
            },
        }).Build();
}
