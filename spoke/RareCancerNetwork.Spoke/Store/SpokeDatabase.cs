using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>The spoke's SQLite store of record; opened only through the shared helper (WAL, FULL sync, foreign keys).</summary>
public sealed class SpokeDatabase(IOptions<SpokeOptions> options)
{
    public SqliteDatabase Database { get; } = new(options.Value.DatabasePath, typeof(SpokeDatabase).Assembly);

    public Task<Microsoft.Data.Sqlite.SqliteConnection> OpenAsync(CancellationToken cancellationToken) => Database.OpenAsync(cancellationToken);

    /// <summary>A unit of work committed with whatever else is being written at the moment (<see cref="SqliteDatabase.WriteAsync{T}"/>).</summary>
    public Task<T> WriteAsync<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        Database.WriteAsync((connection, transaction) => work((Microsoft.Data.Sqlite.SqliteConnection)connection, (Microsoft.Data.Sqlite.SqliteTransaction)transaction), cancellationToken);

    /// <inheritdoc cref="WriteAsync{T}"/>
    public Task WriteAsync(Func<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (connection, transaction) =>
        {
            await work(connection, transaction);
            return true;
        }, cancellationToken);
}
