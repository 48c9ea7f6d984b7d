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

    public async ValueTask DisposeAsync()
    {
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync();
        }
        _commands.Clear();
    }
}
