using System.Data;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>
/// A node's SQLite connections are kept open between uses with their compiled statements. A connection goes back only
/// clean: the next user must never find itself in someone else's transaction or read snapshot, nor share a connection.
/// </summary>
public sealed class KeptConnectionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReadDisposed_LeavesItsConnectionAndCompiledStatement_ForTheNextRead_WithItsOwnParameters()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await CreateMarksAsync(database, 1, 2, 3);

        var (firstConnection, firstCommand, first) = await ReadMarkAsync(database, 2);
        var (secondConnection, secondCommand, second) = await ReadMarkAsync(database, 3);

        Assert.Equal((2L, 3L), (first, second));
        Assert.Same(firstConnection, secondConnection);
        Assert.Same(firstCommand, secondCommand);
        Assert.Equal(ConnectionState.Open, firstConnection.State);
    }

    [Fact]
    public async Task AKeptConnection_SeesWhatWasCommittedSinceItsLastUse()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await CreateMarksAsync(database, 1);
        var (before, _, _) = await ReadMarkAsync(database, 1);

        await database.WriteAsync((connection, transaction) => ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (7)"), Ct);

        var (after, _, seven) = await ReadMarkAsync(database, 7);
        Assert.Same(before, after);
        Assert.Equal(7L, seven);
    }

    [Fact]
    public async Task AConnectionLeftInATransaction_IsClosed_NotGivenToTheNextUser()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await CreateMarksAsync(database, 1);

        var left = await database.OpenAsync(Ct);
        var transaction = left.BeginTransaction();
        await ExecuteAsync(left, transaction, "INSERT INTO marks VALUES (8)");
        await left.DisposeAsync();

        Assert.Equal(ConnectionState.Closed, left.State);
        await using var next = await database.OpenAsync(Ct);
        Assert.NotSame(left, next);
        // Closing rolled the abandoned transaction back.
        Assert.Null(await ScalarAsync(next, "SELECT id FROM marks WHERE id = 8"));
    }

    [Fact]
    public async Task AConnectionWithAStatementStillStepping_IsClosed_NotGivenToTheNextUser()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await CreateMarksAsync(database, 1, 2, 3);

        var left = await database.OpenAsync(Ct);
        var command = left.Command("SELECT id FROM marks ORDER BY id");
        var rows = await command.ExecuteReaderAsync(Ct);
        Assert.True(await rows.ReadAsync(Ct));
        // The reader is abandoned mid-way: its statement holds a read snapshot that the next user must not inherit.
        await left.DisposeAsync();

        Assert.Equal(ConnectionState.Closed, left.State);
        await using var next = await database.OpenAsync(Ct);
        Assert.NotSame(left, next);
    }

    [Fact]
    public async Task AConnectionDisposedTwice_IsGivenToOneUserAtATime()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        var connection = await database.OpenAsync(Ct);
        await connection.DisposeAsync();
        await connection.DisposeAsync();
        connection.Dispose();

        await using var first = await database.OpenAsync(Ct);
        await using var second = await database.OpenAsync(Ct);
        Assert.NotSame(first, second);
        Assert.Contains(connection, new[] { first, second });
    }

    [Fact]
    public async Task DisposingTheDatabase_ClosesItsIdleConnections_AndLaterOpensStillWork()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await CreateMarksAsync(database, 4);
        var (idle, _, _) = await ReadMarkAsync(database, 4);

        database.Dispose();

        Assert.Equal(ConnectionState.Closed, idle.State);
        var (later, _, four) = await ReadMarkAsync(database, 4);
        Assert.NotSame(idle, later);
        Assert.Equal(4L, four);
        // Disposed, the database keeps nothing: a connection given back is closed.
        Assert.Equal(ConnectionState.Closed, later.State);
    }

    private static async Task<(SqliteConnection Connection, SqliteCommand Command, long? Value)> ReadMarkAsync(SqliteDatabase database, long id)
    {
        await using var connection = await database.OpenAsync(Ct);
        await using var command = connection.Command("SELECT id FROM marks WHERE id = @id").With("@id", id);
        var value = (long?)await command.ExecuteScalarAsync(Ct);
        return (connection, command, value);
    }

    private static async Task CreateMarksAsync(SqliteDatabase database, params long[] ids) =>
        await database.WriteAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "CREATE TABLE marks (id INTEGER PRIMARY KEY)");
            foreach (var id in ids)
            {
                await ExecuteAsync(connection, transaction, $"INSERT INTO marks VALUES ({id})");
            }
            return true;
        }, Ct);

    private static async Task<int> ExecuteAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string sql)
    {
        await using var command = connection.Command(sql, transaction);
        return await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.Command(sql);
        return await command.ExecuteScalarAsync(Ct);
    }
}
