using Npgsql;
using RareCancerNetwork.Hub.Feed;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// Wakes this instance's feed subscribers when any instance commits an event for their spoke: the
/// database sends a notification (<c>rcn_spoke_feed</c>, payload the node id) at the commit of every
/// transaction that appended one. While the listening connection is down, notifications are lost, so
/// every subscriber is woken to read again whenever it (re)connects.
/// </summary>
internal sealed partial class PostgresFeedListener(HubDatabase database, EventFeed feed, ILogger<PostgresFeedListener> logger) : BackgroundService
{
    public const string Channel = "rcn_spoke_feed";

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dataSource = ((PostgresHubDatabase)database).DataSource;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = $"LISTEN {Channel}";
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                feed.WakeAll();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or System.IO.IOException or TimeoutException)
            {
                LogListenerLost(logger, exception.GetType().Name);
                feed.WakeAll();
                try
                {
                    await Task.Delay(ReconnectDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification) => feed.Notify([notification.Payload]);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Feed notifications from PostgreSQL interrupted ({Reason}); reconnecting")]
    private static partial void LogListenerLost(ILogger logger, string reason);
}
