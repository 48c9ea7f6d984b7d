using System.Data.Common;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>
/// The node's SQLite writer commits the units waiting together (group commit). Each unit must still behave as its own
/// transaction: committed before its caller hears, undone alone when it fails, and never run when its caller gave up first.
/// </summary>
public sealed class GroupCommitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly AsyncLocal<string?> CallerTrace = new();

    [Fact]
    public async Task UnitsWaitingShareOneCommit_AFailingUnitIsUndoneAlone_OthersAreCommitted()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        // The first unit holds the writer until every other unit is queued behind it, so they form one group.
        var (gate, holding) = await HoldTheWriterAsync(database, 0);
        var transactionsSeen = new System.Collections.Concurrent.ConcurrentBag<DbTransaction>();
        var units = Enumerable.Range(1, 40).Select(id => database.WriteAsync(async (connection, transaction) =>
        {
            transactionsSeen.Add(transaction);
            await ExecuteAsync(connection, transaction, $"INSERT INTO marks VALUES ({id})");
            // Every fifth unit fails after writing: its row must not survive, and nobody else's may be lost with it.
            return id % 5 == 0 ? throw new ConflictException($"unit {id} refused") : id;
        }, Ct)).ToList();
        gate.SetResult();
        await holding;

        foreach (var (unit, id) in units.Select((unit, index) => (unit, index + 1)))
        {
            if (id % 5 == 0)
            {
                var refused = await Assert.ThrowsAsync<ConflictException>(() => unit);
                Assert.Equal($"unit {id} refused", refused.Message);
            }
            else
            {
                Assert.Equal(id, await unit);
            }
        }
        var expected = Enumerable.Range(0, 41).Where(id => id == 0 || id % 5 != 0).Select(id => (long)id).ToList();
        Assert.Equal(expected, await MarksAsync(spoke));
        // They shared commits: far fewer transactions than units.
        Assert.True(transactionsSeen.Distinct().Count() < 10, $"{transactionsSeen.Distinct().Count()} transactions for 40 units");
    }

    /// <summary>
    /// A unit alone in its group runs without a savepoint of its own: failing after writing, it leaves nothing behind, and the
    /// writer goes on with the next unit (one at a time, each awaited, so each is alone).
    /// </summary>
    [Fact]
    public async Task AUnitAloneThatFailsAfterWriting_LeavesNothing_TheNextIsCommitted()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        await database.WriteAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS marks (id INTEGER PRIMARY KEY)");
            return 0;
        }, Ct);

        var refused = await Assert.ThrowsAsync<ConflictException>(() => database.WriteAsync<int>(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (1)");
            await ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (2)");
            throw new ConflictException("refused after writing");
        }, Ct));
        Assert.Equal("refused after writing", refused.Message);
        Assert.Equal(3, await database.WriteAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (3)");
            return 3;
        }, Ct));

        Assert.Equal([3L], await MarksAsync(spoke));
    }

    [Fact]
    public async Task AUnitRunsInItsCallersContext_AndCannotStartAnother()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        CallerTrace.Value = "caller-1";
        var seen = await spoke.Database.Database.WriteAsync((_, _) => Task.FromResult(CallerTrace.Value), Ct);
        Assert.Equal("caller-1", seen);

        var nested = await Assert.ThrowsAsync<InvalidOperationException>(() => spoke.Database.Database.WriteAsync(
            (_, _) => spoke.Database.Database.WriteAsync((_, _) => Task.FromResult(1), Ct), Ct));
        Assert.Contains("cannot start another", nested.Message, StringComparison.Ordinal);
        // The writer keeps serving after a refused unit.
        Assert.Equal(2, await spoke.Database.Database.WriteAsync((_, _) => Task.FromResult(2), Ct));
    }

    [Fact]
    public async Task AUnitWhoseCallerGaveUpBeforeItRan_IsNotRun()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        var (gate, holding) = await HoldTheWriterAsync(database, 1);
        using var giveUp = new CancellationTokenSource();
        var abandoned = database.WriteAsync((connection, transaction) => ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (2)"), giveUp.Token);
        await giveUp.CancelAsync();
        gate.SetResult();
        await holding;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal([1L], await MarksAsync(spoke));
    }

    [Fact]
    public async Task ConcurrentSubmissions_EachAcknowledgedOnce_TheSameOneTwiceIsADuplicate()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var submissions = Enumerable.Range(0, 60).Select(_ => SpokeStoreFixture.Submission()).ToList();
        // Every submission sent twice at once, as a client retrying after a lost reply would.
        var results = await Task.WhenAll(submissions.Concat(submissions).Select(request => spoke.Store.SubmitAsync("CORE-004", "t", request.Clone(), null, Ct)));

        Assert.Equal(60, results.Count(result => !result.Duplicate));
        Assert.Equal(60, results.Count(result => result.Duplicate));
        Assert.Equal(submissions.Select(s => s.ConsultationId).Order(), results.Select(r => r.Consultation.ConsultationId).Distinct().Order());
        Assert.Equal(60, await spoke.ScalarAsync("SELECT COUNT(*) FROM consultations"));
        Assert.Equal(60, await spoke.ScalarAsync("SELECT COUNT(*) FROM outbox WHERE kind = 'deliver_consultation'"));
    }

    /// <summary>The settings are applied once per physical connection (not per open): every connection must still have them.</summary>
    [Fact]
    public async Task EveryConnection_HasTheNodesSettings_NewAndPooled()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        async Task<string> SettingsAsync()
        {
            await using var connection = await database.OpenAsync(Ct);
            var values = new List<string>();
            foreach (var pragma in new[] { "foreign_keys", "busy_timeout", "synchronous", "temp_store" })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {pragma};";
                values.Add($"{pragma}={await command.ExecuteScalarAsync(Ct)}");
            }
            return string.Join(' ', values);
        }
        // Temporary storage in memory only while the writer runs a group (its savepoints' sub-journals), never left behind.
        const string expected = "foreign_keys=1 busy_timeout=30000 synchronous=2 temp_store=0";
        // Many at once (several physical connections), again (pooled ones), and after the pool was emptied (new ones).
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(SettingsAsync, Ct))), settings => Assert.Equal(expected, settings));
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(SettingsAsync, Ct))), settings => Assert.Equal(expected, settings));
        Assert.Equal(2L, await database.WriteAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "PRAGMA temp_store;";
            return (long)(await command.ExecuteScalarAsync(Ct))!;
        }, Ct));
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(SettingsAsync, Ct))), settings => Assert.Equal(expected, settings));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Assert.Equal(expected, await SettingsAsync());
    }

    [Fact]
    public async Task TheWritersUnits_ReuseACompiledStatement_EachWithOnlyItsOwnParameters()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        const string insert = "INSERT INTO marks VALUES (@id) RETURNING id";
        var (gate, holding) = await HoldTheWriterAsync(database, 0);
        var commands = new System.Collections.Concurrent.ConcurrentBag<DbCommand>();
        var units = Enumerable.Range(1, 20).Select(id => database.WriteAsync(async (connection, transaction) =>
        {
            await using var command = id == 10 ? connection.Command(insert, transaction) : connection.Command(insert, transaction).With("@id", id);
            commands.Add(command);
            return (long)(await command.ExecuteScalarAsync(Ct))!;
        }, Ct)).ToList();
        gate.SetResult();
        await holding;

        // The unit that bound nothing is told so: the command it was given kept no value of the unit before it.
        await Assert.ThrowsAsync<InvalidOperationException>(() => units[9]);
        Assert.Equal(Enumerable.Range(1, 20).Where(id => id != 10).Select(id => (long)id), await Task.WhenAll(units.Where((_, index) => index != 9)));
        // One compiled statement for all of them: each unit was given the command the unit before it disposed.
        Assert.Single(commands.Distinct(ReferenceEqualityComparer.Instance));
        Assert.Equal([0L, .. Enumerable.Range(1, 20).Where(id => id != 10).Select(id => (long)id)], await MarksAsync(spoke));
    }

    [Fact]
    public async Task AStatementInUse_IsNotGivenToASecondCommandOfTheSameText()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var database = spoke.Database.Database;
        var (gate, holding) = await HoldTheWriterAsync(database, 0);
        gate.SetResult();
        await holding;
        const string select = "SELECT id FROM marks WHERE id >= @from ORDER BY id";
        var pairs = await database.WriteAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO marks VALUES (1), (2)");
            var seen = new List<(long Outer, long Inner)>();
            await using var outer = connection.Command(select, transaction).With("@from", 0);
            await using var outerRows = await outer.ExecuteReaderAsync(Ct);
            while (await outerRows.ReadAsync(Ct))
            {
                // The same text while the outer reader is open: its own command, its own rows.
                await using var inner = connection.Command(select, transaction).With("@from", outerRows.GetInt64(0) + 1);
                Assert.NotSame(outer, inner);
                seen.Add((outerRows.GetInt64(0), Convert.ToInt64(await inner.ExecuteScalarAsync(Ct) ?? -1L, System.Globalization.CultureInfo.InvariantCulture)));
            }
            return seen;
        }, Ct);
        Assert.Equal([(0L, 1L), (1L, 2L), (2L, -1L)], pairs);
    }

    /// <summary>Makes the marks table, then queues a unit that writes <paramref name="mark"/> once the gate opens: the writer waits for it.</summary>
    private static async Task<(TaskCompletionSource Gate, Task<int> Holding)> HoldTheWriterAsync(SqliteDatabase database, int mark)
    {
        await database.WriteAsync((connection, transaction) => ExecuteAsync(connection, transaction, "CREATE TABLE marks (id INTEGER PRIMARY KEY)"), Ct);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = database.WriteAsync(async (connection, transaction) =>
        {
            await gate.Task;
            return await ExecuteAsync(connection, transaction, $"INSERT INTO marks VALUES ({mark})");
        }, Ct);
        return (gate, holding);
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql)
    {
        await using var command = connection.Command(sql, transaction);
        return await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<List<long>> MarksAsync(SpokeStoreFixture spoke)
    {
        await using var connection = await spoke.Database.OpenAsync(Ct);
        await using var command = connection.Command("SELECT id FROM marks ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var marks = new List<long>();
        while (await reader.ReadAsync(Ct))
        {
            marks.Add(reader.GetInt64(0));
        }
        return marks;
    }
}
