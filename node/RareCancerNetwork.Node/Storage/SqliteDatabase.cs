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

    /// <summary>Physical connections already configured (weakly held: a connection the pool closes is forgotten with it).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object?> Configured = new();

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // The settings belong to the physical connection, which the pool hands out again: set once per connection, not per
        // open (each open parsed and ran them: with six settings, SQL parsing stood out in a perf profile of authenticated reads).
        if (connection.Handle is { } handle && !Configured.TryGetValue(handle, out _))
        {
            await using var pragmas = connection.CreateCommand();
            pragmas.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;";
            await pragmas.ExecuteNonQueryAsync(cancellationToken);
            Configured.AddOrUpdate(handle, null);
        }
        return connection;
    }

    async Task<System.Data.Common.DbConnection> IRelationalStore.OpenAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    /// <summary>
    /// Group commit: units of work queue for one writer, which runs every unit waiting into one transaction
    /// (each in a savepoint of its own, so a unit that fails is undone alone) and commits them with one
    /// <c>fsync</c>. A caller is answered only after the commit that holds its unit, so nothing is acknowledged
    /// before it is on disk; under load many callers share each commit instead of queuing in SQLite's busy handler.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        if (InsideWrite.Value)
        {
            // The writer runs one unit at a time; a unit that waited for another would wait forever.
            throw new InvalidOperationException("A unit of work cannot start another: use the connection and transaction it was given.");
        }
        var unit = new PendingWrite<T>(work, cancellationToken);
        _pendingWrites.Enqueue(unit);
        if (Interlocked.CompareExchange(ref _writerRunning, 1, 0) == 0)
        {
            _ = Task.Run(RunWriterAsync, CancellationToken.None);
        }
        return unit.Result;
    }

    private static readonly AsyncLocal<bool> InsideWrite = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<PendingWrite> _pendingWrites = new();
    private int _writerRunning;

    /// <summary>Enough units to fill a commit under any realistic load; bounds the latency one group adds.</summary>
    private const int MaxUnitsPerCommit = 256;

    private async Task RunWriterAsync()
    {
        // One connection for as long as units keep coming, with its compiled statements kept (StatementReuse); given back
        // to the pool when the queue is empty.
        var session = new WriterSession(this);
        try
        {
            while (true)
            {
                var group = new List<PendingWrite>();
                while (group.Count < MaxUnitsPerCommit && _pendingWrites.TryDequeue(out var unit))
                {
                    if (!unit.CancelIfRequested())
                    {
                        group.Add(unit);
                    }
                }
                if (group.Count > 0)
                {
                    await CommitGroupAsync(session, group);
                    continue;
                }
                await session.CloseAsync();
                Volatile.Write(ref _writerRunning, 0);
                // A unit queued after the last look but before the flag was cleared found the writer still running.
                if (_pendingWrites.IsEmpty || Interlocked.CompareExchange(ref _writerRunning, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        finally
        {
            await session.CloseAsync();
        }
    }

    private static async Task CommitGroupAsync(WriterSession session, List<PendingWrite> group)
    {
        var ran = new List<PendingWrite>(group.Count);
        try
        {
            var connection = await session.ConnectionAsync();
            await using var transaction = connection.BeginTransaction(deferred: false);
            // A unit alone in its group runs without a savepoint: if it fails, the transaction, which holds nothing else, is
            // undone whole. A savepoint copies the old image of every page its unit changes into a sub-journal (with the
            // sub-journal's upkeep, a few per cent of a bulk import's CPU in a perf profile), which only a group needs.
            if (group is [var alone])
            {
                if (!await alone.RunAsync(connection, transaction))
                {
                    // Its caller has been told; the transaction holds nothing else.
                    await transaction.RollbackAsync(CancellationToken.None);
                    return;
                }
                ran.Add(alone);
            }
            else
            {
                foreach (var unit in group)
                {
                    transaction.Save(UnitSavepoint);
                    if (await unit.RunAsync(connection, transaction))
                    {
                        transaction.Release(UnitSavepoint);
                        ran.Add(unit);
                    }
                    else
                    {
                        // Throws when SQLite has already rolled the whole transaction back (disk full, I/O error):
                        // then no unit of the group is committed and every caller is told so below.
                        transaction.Rollback(UnitSavepoint);
                        transaction.Release(UnitSavepoint);
                    }
                }
            }
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            // A connection that failed a group is not trusted with the next one.
            await session.CloseAsync();
            foreach (var unit in group)
            {
                unit.Fail(exception);
            }
            return;
        }
        foreach (var unit in ran)
        {
            unit.Complete();
        }
    }

    /// <summary>The writer's connection while it has work: opened for the first group, closed when the queue runs dry.</summary>
    private sealed class WriterSession(SqliteDatabase database)
    {
        private SqliteConnection? _connection;
        private StatementReuse? _statements;

        public async Task<SqliteConnection> ConnectionAsync()
        {
            if (_connection is null)
            {
                var connection = await database.OpenAsync(CancellationToken.None);
                try
                {
                    // Each unit's savepoint keeps the old image of every page it touches in a sub-journal: in memory while
                    // the writer runs (as a temporary file it was a fifth of a bulk sync's file writes). Only here: with every
                    // connection's temporary storage in memory, the statistics' GROUP BYs ran a quarter slower (docs/benchmarks.md).
                    await SetTemporaryStorageAsync(connection, "MEMORY");
                }
                catch
                {
                    await connection.DisposeAsync();
                    throw;
                }
                _statements = StatementReuse.Attach(connection);
                _connection = connection;
            }
            return _connection;
        }

        public async Task CloseAsync()
        {
            if (_connection is not { } connection)
            {
                return;
            }
            _connection = null;
            try
            {
                // The kept statements are destroyed before the connection goes back to the pool.
                _statements?.Dispose();
                await RestoreTemporaryStorageAsync(connection);
                await connection.DisposeAsync();
            }
            catch (Exception)
            {
                // Ignored on purpose: closing cannot undo a commit, and a writer stopped by it would leave every later
                // write waiting forever.
            }
            finally
            {
                _statements = null;
            }
        }
    }

    private const string UnitSavepoint = "rcn_unit";

    private static async Task SetTemporaryStorageAsync(SqliteConnection connection, string storage)
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA temp_store = {storage};";
        await pragma.ExecuteNonQueryAsync();
    }

    /// <summary>Back to the default after the group; never a reason to fail a group that committed (a connection left with
    /// its temporary storage in memory only sorts slower).</summary>
    private static async Task RestoreTemporaryStorageAsync(SqliteConnection connection)
    {
        try
        {
            await SetTemporaryStorageAsync(connection, "DEFAULT");
        }
        catch (SqliteException)
        {
            // Ignored on purpose: see above.
        }
    }

    private abstract class PendingWrite
    {
        /// <summary>The caller's context (trace, log scopes) for its unit, though the writer runs it.</summary>
        private readonly ExecutionContext? _callerContext = ExecutionContext.Capture();

        /// <summary>Runs the unit; false when it failed (its caller has been told and its savepoint is to be undone).</summary>
        public async Task<bool> RunAsync(SqliteConnection connection, SqliteTransaction transaction)
        {
            Task? running = null;
            void Start()
            {
                InsideWrite.Value = true;
                running = StartAsync(connection, transaction);
            }
            try
            {
                if (_callerContext is null)
                {
                    Start();
                }
                else
                {
                    ExecutionContext.Run(_callerContext, _ => Start(), null);
                }
                await running!;
                return true;
            }
            catch (Exception exception)
            {
                Fail(exception);
                return false;
            }
        }

        protected abstract Task StartAsync(SqliteConnection connection, SqliteTransaction transaction);

        public abstract bool CancelIfRequested();

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class PendingWrite<T>(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task<T>> work, CancellationToken cancellationToken)
        : PendingWrite
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _value;

        public Task<T> Result => _result.Task;

        protected override async Task StartAsync(SqliteConnection connection, SqliteTransaction transaction)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _value = await work(connection, transaction);
        }

        public override bool CancelIfRequested() => cancellationToken.IsCancellationRequested && _result.TrySetCanceled(cancellationToken);

        public override void Complete() => _result.TrySetResult(_value!);

        public override void Fail(Exception exception)
        {
            if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                _result.TrySetCanceled(cancellationToken);
            }
            else
            {
                _result.TrySetException(exception);
            }
        }
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
