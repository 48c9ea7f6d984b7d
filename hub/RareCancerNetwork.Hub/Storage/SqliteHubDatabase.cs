using System.Data.Common;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// The embedded default: one SQLite file (WAL, <c>synchronous=FULL</c>) in the data folder, for one hub
/// process. Writers take SQLite's write lock in turn, so nothing is ever retried.
/// </summary>
public sealed class SqliteHubDatabase(string path) : HubDatabase
{
    public SqliteDatabase Database { get; } = new(path, typeof(SqliteHubDatabase).Assembly, ".Migrations.Sqlite.");

    public override HubStorageProvider Provider => HubStorageProvider.Sqlite;

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await Database.OpenAsync(cancellationToken);

    public override Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        Database.WriteAsync(work, cancellationToken);

    public override Task<int> MigrateAsync(CancellationToken cancellationToken, int? targetVersion = null) =>
        Database.MigrateAsync(cancellationToken, targetVersion);

    public override Task<int> CurrentVersionAsync(CancellationToken cancellationToken) => Database.CurrentVersionAsync(cancellationToken);

    public override int LatestVersion => Database.LatestVersion;

    /// <summary>One process owns the file; there is no other instance to wait for.</summary>
    public override Task<IAsyncDisposable> LockForInitializationAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IAsyncDisposable>(NoLock.Instance);

    public override async Task<bool> TableExistsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @name").With("@name", table);
        return await command.ScalarInt64Async(cancellationToken) > 0;
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
