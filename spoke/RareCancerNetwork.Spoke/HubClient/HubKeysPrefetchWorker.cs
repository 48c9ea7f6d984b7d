using Microsoft.Extensions.Options;
using OpenIddict.Validation;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>
/// Obtains the hub's signing keys when the spoke starts, and keeps trying until it has them, instead of
/// waiting for the first local user's call: a spoke that saw the hub once can then serve its users through
/// an outage that begins before anyone has called it (the keys are stored by <see cref="PersistedHubKeys"/>).
/// </summary>
public sealed partial class HubKeysPrefetchWorker(IOptionsMonitor<OpenIddictValidationOptions> validation, ILogger<HubKeysPrefetchWorker> logger) : BackgroundService
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pause = FirstPause;
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                var configuration = await validation.CurrentValue.ConfigurationManager!.GetConfigurationAsync(stoppingToken);
                if (configuration.SigningKeys.Count > 0)
                {
                    LogObtained(logger, configuration.SigningKeys.Count);
                    return;
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogNotYet(logger, attempt, pause.TotalSeconds, exception.GetType().Name);
            }
            await Task.Delay(pause, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            pause = TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, pause.Ticks * 2));
        }
    }

    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "The hub's signing keys are here ({Count}); local users' tokens are validated through a hub outage")]
    private static partial void LogObtained(ILogger logger, int count);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning, Message = "The hub's signing keys could not be obtained yet (attempt {Attempt}, {ExceptionType}); next try in {PauseSeconds:F0}s")]
    private static partial void LogNotYet(ILogger logger, int attempt, double pauseSeconds, string exceptionType);
}
