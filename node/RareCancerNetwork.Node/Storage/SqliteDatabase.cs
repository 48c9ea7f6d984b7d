using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// The one place a node opens its SQLite database, so no code path forgets WAL, foreign keys,
/// the busy timeout or <c>synchronous=FULL</c> (every acknowledged write is on disk).
/// Schema changes are numbered embedded scripts (<c>0001_name.sql</c>) tracked by <c>PRAGMA user_version</c>.
/// </summary>
public sealed partial class SqliteDatabase : IRelationalStore
{
    private readonly Assembly _migrationsAssembly;
    private readonly string _resourceMarker;

    public SqliteDatabase(string path, Assembly migrationsAssembly, string resourceMarker = ".Migrations.")
    {
        Path = System.IO.Path.GetFullPath(path);
        _migrationsAssembly = migrationsAssembly;
        _resourceMarker = resourceMarker;
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public string ConnectionString { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    async Task<System.Data.Common.DbConnection> IRelationalStore.OpenAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    /// <summary>
    /// SQLite takes the write lock at <c>BEGIN IMMEDIATE</c> and holds it to commit, so writers run one at a
    /// time and a unit never needs running again.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Applies every migration newer than the database's <c>user_version</c>, each in its own transaction.</summary>
    /// <param name="targetVersion">Stop after this version (tests of an upgrade from an older schema); all when null.</param>
    /// <param name="cancellationToken">Cancels between statements.</param>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken, int? targetVersion = null)
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        await using var connection = await OpenAsync(cancellationToken);
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }
        var current = await ScalarAsync<long>(connection, "PRAGMA user_version;", cancellationToken);
        var applied = 0;
        foreach (var (version, resource) in Migrations())
        {
            if (version <= current || version > (targetVersion ?? int.MaxValue))
            {
                continue;
            }
            await using var stream = _migrationsAssembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            var script = IncludeSharedSchema(await reader.ReadToEndAsync(cancellationToken));
            await using var transaction = connection.BeginTransaction();
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = script + $"\nPRAGMA user_version = {version};";
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            applied++;
        }
        return applied;
    }

    /// <summary>
    /// Replaces each <c>-- @include name.sql</c> line with a schema the node library ships (such as the
    /// audit trail's table), so hub and spokes create it from one definition.
    /// </summary>
    private static string IncludeSharedSchema(string script) => IncludeDirective().Replace(script, match =>
    {
        var name = typeof(SqliteDatabase).Assembly.GetManifestResourceNames()
            .SingleOrDefault(resource => resource.EndsWith("." + match.Groups[1].Value, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"The migration includes '{match.Groups[1].Value}', which the node library does not ship.");
        using var stream = typeof(SqliteDatabase).Assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    [GeneratedRegex(@"^-- @include ([A-Za-z0-9_]+\.sql)\s*$", RegexOptions.Multiline)]
    private static partial Regex IncludeDirective();

    /// <summary>The schema version the database is at.</summary>
    public async Task<int> CurrentVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return (int)await ScalarAsync<long>(connection, "PRAGMA user_version;", cancellationToken);
    }

    /// <summary>The highest migration number shipped with the node.</summary>
    public int LatestVersion => Migrations().Select(m => m.Version).DefaultIfEmpty(0).Max();

    private IEnumerable<(int Version, string Resource)> Migrations() =>
        _migrationsAssembly.GetManifestResourceNames()
            .Select(name => (Name: name, Match: MigrationName().Match(name)))
            .Where(m => m.Match.Success && m.Name.Contains(_resourceMarker, StringComparison.Ordinal))
            .Select(m => (int.Parse(m.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m.Name))
            .OrderBy(m => m.Item1);

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync(cancellationToken))!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\.(\d{4})_[A-Za-z0-9_]+\.sql$")]
    private static partial Regex MigrationName();
}
