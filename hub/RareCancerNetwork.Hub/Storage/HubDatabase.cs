using System.Data.Common;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>Which engine holds the hub's authoritative store (<c>Hub:Storage:Provider</c>).</summary>
public enum HubStorageProvider
{
    /// <summary>One SQLite file in the data folder: the embedded default for a laptop, a test or a demonstration.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database, shared by every hub instance: production.</summary>
    Postgres,
}

/// <summary>
/// The hub's authoritative store. Every capability's store is written once against this class in the SQL
/// both engines understand (parameters as <c>@name</c>, <c>ON CONFLICT</c>, <c>RETURNING</c>, instants as
/// ISO 8601 text); what differs between the engines (connections, transactions and their retries,
/// migrations, initialisation across instances) is a provider's business.
/// </summary>
public abstract class HubDatabase : IRelationalStore
{
    public abstract HubStorageProvider Provider { get; }

    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    public abstract Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken);

    public Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await work(connection, transaction);
            return true;
        }, cancellationToken);

    /// <summary>
    /// A batched delivery's write, with the delivering call's audit entries in its transaction where the engine allows:
    /// on SQLite one writer serialises every write anyway, and the entries alone were often a commit of their own. On
    /// PostgreSQL concurrent deliveries are serializable transactions, and each reading the end of the audit chain would
    /// make every two of them conflict: there the entries stay a transaction of their own, after the call.
    /// </summary>
    public Task<T> WriteDeliveryAsync<T>(CallAudit? audit, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        this.WriteAsync(Provider == HubStorageProvider.Sqlite ? audit : null, work, cancellationToken);

    /// <summary>Applies the provider's numbered migrations newer than the store's version.</summary>
    /// <param name="cancellationToken">Cancels between migrations.</param>
    /// <param name="targetVersion">Stop after this version (tests of an upgrade); all when null.</param>
    /// <returns>How many were applied.</returns>
    public abstract Task<int> MigrateAsync(CancellationToken cancellationToken, int? targetVersion = null);

    public abstract Task<int> CurrentVersionAsync(CancellationToken cancellationToken);

    /// <summary>The highest migration number this build ships for the provider.</summary>
    public abstract int LatestVersion { get; }

    /// <summary>
    /// Held while an instance initialises the store (migrations, identity tables, keys, seeding), so two
    /// instances starting together do it once, one after the other.
    /// </summary>
    public abstract Task<IAsyncDisposable> LockForInitializationAsync(CancellationToken cancellationToken);

    /// <summary>Whether a table exists (for OpenIddict's tables, which its EF Core model creates).</summary>
    public abstract Task<bool> TableExistsAsync(string table, CancellationToken cancellationToken);

    public static HubDatabase Create(HubOptions options) => options.Storage.Provider switch
    {
        HubStorageProvider.Sqlite => new SqliteHubDatabase(options.DatabasePath),
        HubStorageProvider.Postgres => new PostgresHubDatabase(options.Storage.ConnectionString!),
        _ => throw new InvalidOperationException($"Unknown storage provider {options.Storage.Provider}."),
    };
}
