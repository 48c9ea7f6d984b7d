using Microsoft.Data.Sqlite;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// Compiled statements kept on one long-lived SQLite connection (the group writer's), by their text: Microsoft.Data.Sqlite
/// compiles a command's SQL afresh for every new command, and a node's writes are the same few dozen statements over and
/// over (parsing and planning them was about a tenth of a consultation's CPU in a <c>perf</c> profile). Code keeps
/// creating and disposing its commands as usual (<see cref="SqlCommands.Command"/>); on this connection a disposed command
/// goes back here with its compiled statement instead of being destroyed, and the next command of the same text reuses it
/// with fresh parameters. A command still in use when another of the same text is asked for stays its own.
/// </summary>
internal sealed class StatementReuse : IDisposable
{
    /// <summary>Bounded: SQLite keeps each compiled statement's memory until it is destroyed.</summary>
    private const int MostStatements = 256;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, StatementReuse> Connections = new();

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, ReusableCommand> _idle = new(StringComparer.Ordinal);
    private bool _disposed;

    private StatementReuse(SqliteConnection connection) => _connection = connection;

    /// <summary>Starts keeping the statements of <paramref name="connection"/>, which must outlive many units of work.</summary>
    public static StatementReuse Attach(SqliteConnection connection)
    {
        var reuse = new StatementReuse(connection);
        Connections.AddOrUpdate(connection, reuse);
        return reuse;
    }

    /// <summary>A command for <paramref name="sql"/>: a kept one when the connection keeps statements and one is free.</summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction)
    {
        if (Connections.TryGetValue(connection, out var reuse) && !reuse._disposed)
        {
            return reuse.Rent(sql, transaction);
        }
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private ReusableCommand Rent(string sql, SqliteTransaction? transaction)
    {
        if (!_idle.Remove(sql, out var command))
        {
            command = new ReusableCommand(this, sql, _connection);
        }
        command.Transaction = transaction;
        return command;
    }

    /// <summary>True when the command was kept (the caller must not destroy it).</summary>
    private bool Return(ReusableCommand command)
    {
        if (!_disposed && _idle.TryGetValue(command.CommandText, out var kept) && ReferenceEquals(kept, command))
        {
            // Disposed twice: it is already back.
            return true;
        }
        if (_disposed || _connection.State != System.Data.ConnectionState.Open || _idle.Count >= MostStatements
            || !_idle.TryAdd(command.CommandText, command))
        {
            return false;
        }
        command.Parameters.Clear();
        command.Transaction = null;
        return true;
    }

    /// <summary>Destroys every kept statement; commands disposed later are destroyed as usual. Before the connection closes.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var command in _idle.Values)
        {
            command.Dispose();
        }
        _idle.Clear();
        Connections.Remove(_connection);
    }

    private sealed class ReusableCommand(StatementReuse owner, string sql, SqliteConnection connection) : SqliteCommand(sql, connection)
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing && owner.Return(this))
            {
                return;
            }
            base.Dispose(disposing);
        }
    }
}
