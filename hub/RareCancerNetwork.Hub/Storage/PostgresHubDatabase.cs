using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Polly;
using Polly.Retry;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// Production: a PostgreSQL database that every hub instance shares. Writes are SERIALIZABLE
/// transactions, so concurrent instances can never interleave into a state one process alone could not
/// reach; a unit the database refuses for that reason (serialization failure, deadlock, a key another
/// instance committed first) is run again from the start, and then sees the other's work.
/// </summary>
public sealed partial class PostgresHubDatabase : HubDatabase, IAsyncDisposable
{
    /// <summary>Session advisory lock held by the instance that initialises the store.</summary>
    private const long InitializationLockKey = 0x52434E5F494E4954; // "RCN_INIT"

    /// <summary>Transaction advisory lock taken by each migration, so two instances never apply one twice.</summary>
    private const long MigrationLockKey = 0x52434E5F4D494752; // "RCN_MIGR"

    /// <summary>Collations whose text order is byte order, as in SQLite: ids, instants and names sort alike on both providers.</summary>
    private static readonly string[] ByteOrderCollations = ["C", "C.UTF-8", "C.utf8", "POSIX"];

    private static readonly HashSet<string> RetryableStates =
        [PostgresErrorCodes.SerializationFailure, PostgresErrorCodes.DeadlockDetected, PostgresErrorCodes.UniqueViolation];

    private readonly NpgsqlDataSource _dataSource;
    private readonly ResiliencePipeline _conflictRetry;

    public PostgresHubDatabase(string connectionString)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _conflictRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<PostgresException>(e => RetryableStates.Contains(e.SqlState)),
                MaxRetryAttempts = 12,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(5),
                MaxDelay = TimeSpan.FromMilliseconds(500),
            })
            .Build();
    }

    public override HubStorageProvider Provider => HubStorageProvider.Postgres;

    /// <summary>The store's connection pool (the feed listener takes its own long-lived connection from it).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _dataSource.OpenConnectionAsync(cancellationToken);

    public override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        await _conflictRetry.ExecuteAsync(async token =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(token);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.Serializable, token);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(token);
            return result;
        }, cancellationToken);

    public override async Task<int> MigrateAsync(CancellationToken cancellationToken, int? targetVersion = null)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await RequireUtf8AndByteOrderAsync(connection, cancellationToken);
        await using (var create = connection.Command(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        var applied = 0;
        foreach (var (version, name, resource) in Migrations())
        {
            if (version > (targetVersion ?? int.MaxValue))
            {
                break;
            }
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var lockCommand = connection.Command("SELECT pg_advisory_xact_lock(@key)", transaction).With("@key", MigrationLockKey))
            {
                await lockCommand.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var done = connection.Command("SELECT COUNT(*) FROM schema_migrations WHERE version = @version", transaction).With("@version", version))
            {
                if (await done.ScalarInt64Async(cancellationToken) > 0)
                {
                    continue;
                }
            }
            await using (var script = connection.Command(ReadResource(resource), transaction))
            {
                await script.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var record = connection.Command("INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", transaction)
                .With("@version", version).With("@name", name))
            {
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            applied++;
        }
        return applied;
    }

    public override async Task<int> CurrentVersionAsync(CancellationToken cancellationToken)
    {
        if (!await TableExistsAsync("schema_migrations", cancellationToken))
        {
            return 0;
        }
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.Command("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        return (int)await command.ScalarInt64Async(cancellationToken);
    }

    public override int LatestVersion => Migrations().Select(m => m.Version).DefaultIfEmpty(0).Max();

    public override async Task<IAsyncDisposable> LockForInitializationAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using (var command = connection.Command("SELECT pg_advisory_lock(@key)").With("@key", InitializationLockKey))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        return new AdvisoryLock(connection);
    }

    public override async Task<bool> TableExistsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.Command("SELECT to_regclass(@name) IS NOT NULL").With("@name", $"\"{table}\"");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>Japanese text must round-trip exactly, and both providers must order text alike.</summary>
    private static async Task RequireUtf8AndByteOrderAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            "SELECT pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE datname = current_database()");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var (encoding, collation) = (reader.GetString(0), reader.GetString(1));
        if (encoding != "UTF8" || !ByteOrderCollations.Contains(collation, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"The hub's PostgreSQL database has encoding {encoding} and collation {collation}; it needs UTF8 and C. " +
                "Create it with: CREATE DATABASE rcn_hub ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 (docs/deploy-hub.md).");
        }
    }

    private static IEnumerable<(int Version, string Name, string Resource)> Migrations() =>
        typeof(PostgresHubDatabase).Assembly.GetManifestResourceNames()
            .Where(name => name.Contains(".Migrations.Postgres.", StringComparison.Ordinal))
            .Select(name => (Name: name, Match: MigrationName().Match(name)))
            .Where(m => m.Match.Success)
            .Select(m => (int.Parse(m.Match.Groups[1].Value, CultureInfo.InvariantCulture), m.Match.Groups[2].Value, m.Name))
            .OrderBy(m => m.Item1);

    private static string ReadResource(string resource)
    {
        using var stream = typeof(PostgresHubDatabase).Assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\.(\d{4})_([A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationName();

    private sealed class AdvisoryLock(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            // Closing the session releases its advisory locks, even if the unlock below never runs.
            try
            {
                await using var command = connection.Command("SELECT pg_advisory_unlock(@key)").With("@key", InitializationLockKey);
                await command.ExecuteNonQueryAsync();
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
