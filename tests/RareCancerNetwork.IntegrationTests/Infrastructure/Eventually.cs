namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// Waits for another node's background work (outbox delivery, feed) to become visible. Those
/// happen in other processes or hosted services, so observing state is the only event there is.
/// The limit is generous: it bounds a hung test, it is not a performance assertion.
/// </summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(60));
        T value = await read();
        while (!done(value))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Gave up waiting for: {what}");
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
            value = await read();
        }
        return value;
    }
}
