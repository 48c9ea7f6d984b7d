namespace RareCancerNetwork.Tests.Shared;

/// <summary>The test process's one cluster; a test that needs PostgreSQL where it is missing is skipped (under CI, failed).</summary>
public sealed partial class PostgresCluster
{
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static PostgresCluster? _shared;

    /// <summary>The process's cluster, started on first use; skips (or, under CI, fails) the test when PostgreSQL is missing.</summary>
    public static async Task<PostgresCluster> SharedAsync()
    {
        var binaries = FindBinaries();
        if (binaries is null)
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("CI must run the PostgreSQL tests, and " + InstallHint);
            }
            Assert.Skip(InstallHint);
        }
        await StartLock.WaitAsync();
        try
        {
            if (_shared is null)
            {
                _shared = await StartAsync(binaries!);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => _shared.Stop();
            }
            return _shared;
        }
        finally
        {
            StartLock.Release();
        }
    }

}
