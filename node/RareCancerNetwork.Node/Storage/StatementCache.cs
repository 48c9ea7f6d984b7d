using System.Data.Common;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// The commands of one unit of work, kept by their text, so a batch compiles each statement once: SQLite
/// keeps a command's compiled statement while its text stays the same, and PostgreSQL connections prepare
/// repeated statements when the data source allows it. Parameters are bound afresh for each use. The
/// commands belong to the cache: callers never dispose them.
/// </summary>
public sealed class StatementCache(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
{
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>Writes gathered for one round trip to a database server; at most this many wait.</summary>
    private const int MostPendingWrites = 2_000;

    private DbBatch? _pending;

    public DbConnection Connection => connection;

    public DbTransaction Transaction => transaction;

    /// <summary>The command for <paramref name="sql"/>, with no parameters bound.</summary>
    public DbCommand Statement(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.Command(sql, transaction);
            _commands[sql] = command;
        }
        command.Parameters.Clear();
        return command;
    }

    /// <summary>
    /// Runs a write whose outcome the caller does not read. In process (SQLite) at once; on a database server (PostgreSQL)
    /// gathered with the unit of work's other such writes and sent in one round trip by <see cref="FlushAsync"/>, which
    /// must run before anything of the unit of work reads what they write, and before its commit. A failing write fails
    /// the flush, and so the unit of work, as it would have failed it at once.
    /// </summary>
    public async Task WriteAsync(DbCommand command, CancellationToken cancellationToken)
    {
        if (!connection.CanCreateBatch)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        _pending ??= connection.CreateBatch();
        _pending.Transaction = transaction;
        var write = _pending.CreateBatchCommand();
        write.CommandText = command.CommandText;
        foreach (DbParameter parameter in command.Parameters)
        {
            // A copy: the cached command's parameters are bound afresh for its next use.
            var copy = write.CreateParameter();
            copy.ParameterName = parameter.ParameterName;
            copy.DbType = parameter.DbType;
            copy.Value = parameter.Value;
            write.Parameters.Add(copy);
        }
        _pending.BatchCommands.Add(write);
        if (_pending.BatchCommands.Count >= MostPendingWrites)
        {
            await FlushAsync(cancellationToken);
        }
    }

    /// <summary>Sends the gathered writes, if any (see <see cref="WriteAsync"/>).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending is { BatchCommands.Count: > 0 } pending)
        {
            await pending.ExecuteNonQueryAsync(cancellationToken);
            pending.BatchCommands.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_pending is not null)
        {
            await _pending.DisposeAsync();
        }
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync();
        }
        _commands.Clear();
    }
}
