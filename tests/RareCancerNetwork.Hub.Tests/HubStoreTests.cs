using System.Data.Common;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Tests.Shared;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

public sealed class HubStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Migrate_TwiceOnTheSameFile_IsIdempotent_AndUsesWal()
    {
        await using var hub = await HubStore.CreateAsync();
        Assert.Equal(0, await hub.Database.MigrateAsync(Ct));
        await using var connection = await hub.Database.OpenAsync(Ct);
        await using var version = connection.Command("PRAGMA user_version");
        Assert.Equal((long)hub.Database.LatestVersion, await version.ScalarInt64Async(Ct));
        await using var mode = connection.Command("PRAGMA journal_mode");
        Assert.Equal("wal", await mode.ExecuteScalarAsync(Ct));
        await using var sync = connection.Command("PRAGMA synchronous");
        Assert.Equal(2L, await sync.ExecuteScalarAsync(Ct)); // FULL
    }

    /// <summary>The pragmas are set once per physical connection: every connection the pool hands out, reused or new, has them.</summary>
    [Fact]
    public async Task EveryOpenedConnection_ReusedOrNew_HasForeignKeys_FullSync_AndTheBusyTimeout()
    {
        await using var hub = await HubStore.CreateAsync();
        async Task AssertPragmasAsync()
        {
            await using var connection = await hub.Database.OpenAsync(Ct);
            foreach (var (pragma, expected) in new[] { ("foreign_keys", 1L), ("synchronous", 2L), ("busy_timeout", 30_000L) })
            {
                await using var command = connection.Command($"PRAGMA {pragma}");
                Assert.Equal(expected, await command.ScalarInt64Async(Ct));
            }
        }
        for (var i = 0; i < 3; i++)
        {
            await AssertPragmasAsync();
        }
        // Several at once: the pool opens new physical connections.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => AssertPragmasAsync()));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await AssertPragmasAsync();
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Migrate_FromAnEmptyDatabase_ReachesTheLatestVersion_AndAgainDoesNothing(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateEmptyAsync(provider);
        Assert.Equal(hub.Database.LatestVersion, await hub.Database.CurrentVersionAsync(Ct));
        Assert.Equal(0, await hub.Database.MigrateAsync(Ct));
        Assert.True(hub.Database.LatestVersion >= 6);
    }

    /// <summary>A hub may be upgraded from any release: every earlier schema version migrates to the latest.</summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Migrate_FromEveryEarlierVersion_ReachesTheLatest(HubStorageProvider provider)
    {
        var latest = HubDatabase.Create(new HubOptions { DataFolder = Path.GetTempPath() }).LatestVersion;
        for (var version = 1; version < latest; version++)
        {
            await using var hub = await HubStore.CreateEmptyAsync(provider, targetVersion: version);
            Assert.Equal(version, await hub.Database.CurrentVersionAsync(Ct));
            Assert.Equal(latest - version, await hub.Database.MigrateAsync(Ct));
            Assert.Equal(latest, await hub.Database.CurrentVersionAsync(Ct));
        }
    }

    /// <summary>
    /// The upgrade a running network makes next (the previous version to the latest), with the rows a hub holds:
    /// its directory, a spoke, a person and a consultation are all there afterwards, and the store serves new work.
    /// </summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Migrate_FromThePreviousVersion_WithAHubsRows_KeepsThemAll(HubStorageProvider provider)
    {
        var latest = HubDatabase.Create(new HubOptions { DataFolder = Path.GetTempPath() }).LatestVersion;
        await using var hub = await HubStore.CreateEmptyAsync(provider, targetVersion: latest - 1);
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-test', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            INSERT INTO experts (expert_id, display_name, capacity, registered_at) VALUES ('soft', '佐藤 一郎', 10, '2026-01-01T00:00:00.0000000Z');
            INSERT INTO expert_specialties VALUES ('soft', 1);
            INSERT INTO users (user_id, display_name, role, facility_code, expert_id, password_hash, registered_at)
            VALUES ('sato', '佐藤 一郎', 'expert_pathologist', 'CORE-004', 'soft', 'h', '2026-01-01T00:00:00.0000000Z');
            """);

        Assert.Equal(1, await hub.Database.MigrateAsync(Ct));

        Assert.Equal(1, await hub.ScalarAsync("SELECT COUNT(*) FROM facilities WHERE facility_code = 'CORE-004' AND name_ja = '東京大学医学部附属病院'"));
        Assert.Equal(1, await hub.ScalarAsync("SELECT COUNT(*) FROM users WHERE user_id = 'sato' AND display_name = '佐藤 一郎' AND role = 'expert_pathologist' AND expert_id = 'soft'"));
        Assert.Equal(1, await hub.ScalarAsync("SELECT COUNT(*) FROM spoke_nodes WHERE node_id = 'spoke-test'"));
        var id = await hub.DeliverAsync(OrganSystem.SoftTissue);
        Assert.Equal(1, await hub.ScalarAsync($"SELECT COUNT(*) FROM consultations WHERE consultation_id = '{id}' AND assigned_expert_id = 'soft'"));
    }

    /// <summary>Every schema change is written for both providers: the same numbers and names in each dialect's folder.</summary>
    [Fact]
    public void BothProviders_ShipTheSameNumberedMigrations()
    {
        static List<string> Shipped(string dialect) => typeof(HubDatabase).Assembly.GetManifestResourceNames()
            .Where(name => name.Contains($".Migrations.{dialect}.", StringComparison.Ordinal))
            .Select(name => name[(name.IndexOf($".Migrations.{dialect}.", StringComparison.Ordinal) + $".Migrations.{dialect}.".Length)..])
            .Order(StringComparer.Ordinal).ToList();
        var sqlite = Shipped("Sqlite");
        Assert.Equal(sqlite, Shipped("Postgres"));
        Assert.Equal(Enumerable.Range(1, sqlite.Count).Select(i => $"{i:D4}_"), sqlite.Select(name => name[..5]));
    }

    /// <summary>
    /// A store at the previous schema version, holding a feed already read by a spoke, upgraded: the
    /// spoke's saved cursor stays valid (new events come after it) and nothing already stored changes.
    /// </summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Migrate_FromThePreviousVersion_KeepsEveryRow_AndSpokeCursorsValid(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateEmptyAsync(provider, targetVersion: 5);
        Assert.Equal(5, await hub.Database.CurrentVersionAsync(Ct));
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-test', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-other', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            INSERT INTO spoke_events (spoke_node_id, consultation_id, occurred_at, payload) VALUES ('spoke-test', 'c1', '2026-01-01T00:00:00.0000000Z', x'0a00');
            INSERT INTO spoke_events (spoke_node_id, consultation_id, occurred_at, payload) VALUES ('spoke-other', 'c2', '2026-01-01T00:00:00.0000000Z', x'0a00');
            INSERT INTO spoke_events (spoke_node_id, consultation_id, occurred_at, payload) VALUES ('spoke-test', 'c3', '2026-01-01T00:00:00.0000000Z', x'0a00');
            """.Replace("x'0a00'", provider == HubStorageProvider.Postgres ? "'\\x0a00'::bytea" : "x'0a00'", StringComparison.Ordinal));
        var before = await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct);
        Assert.Equal(2, before.Count);
        var spokeCursor = before[^1].Sequence;

        Assert.Equal(hub.Database.LatestVersion - 5, await hub.Database.MigrateAsync(Ct));

        var after = await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct);
        Assert.Equal(before.Select(e => (e.Sequence, e.ConsultationId)), after.Select(e => (e.Sequence, e.ConsultationId)));
        var id = await hub.DeliverAsync();
        var newEvents = await hub.Feed.ReadAfterAsync(HubStore.NodeId, spokeCursor, 100, Ct);
        // Its status change (and its timeline's steps), after the saved cursor.
        Assert.Equal(id, Assert.Single(newEvents, e => e.StatusChanged is not null).ConsultationId);
        Assert.True(newEvents[0].Sequence > spokeCursor);
    }

    /// <summary>Two instances deliver the same consultation at the same moment, many times: it is stored once, its events once.</summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task SameDelivery_ThroughTwoInstancesAtOnce_IsStoredOnce(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await using var other = hub.SecondInstance();
        await hub.AddExpertAsync("soft", 1000, OrganSystem.SoftTissue);
        var requests = Enumerable.Range(0, 20).Select(_ => HubStore.NewDelivery()).ToList();
        var outcomes = await Task.WhenAll(requests.SelectMany(request => Enumerable.Range(0, 6).Select(attempt =>
            Task.Run(() => (attempt % 2 == 0 ? hub : other).Store.DeliverAsync(HubStore.NodeId, request.Clone(), Ct), Ct))));

        Assert.Equal(requests.Count, outcomes.Count(o => !o.Duplicate));
        Assert.Equal(requests.Count, await hub.ScalarAsync("SELECT COUNT(*) FROM consultations"));
        Assert.Equal(requests.Count, await hub.ScalarAsync("SELECT open_cases FROM experts WHERE expert_id = 'soft'"));
        var events = await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 1000, Ct);
        // RECEIVED and ASSIGNED per consultation, each a status change and a step of its timeline, numbered 1..n without a gap or a repeat.
        Assert.Equal(requests.Count * 4, events.Count);
        Assert.Equal(requests.Count * 2, events.Count(e => e.StepRecorded is not null));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Postgres_RefusesADatabaseThatCannotHoldJapaneseText()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var options = new HubOptions { Storage = new HubStorageOptions { Provider = HubStorageProvider.Postgres, ConnectionString = await cluster.CreateDatabaseAsync("SQL_ASCII") } };
        await using var database = (PostgresHubDatabase)HubDatabase.Create(options);
        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => database.MigrateAsync(Ct));
        Assert.Contains("UTF8", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("docs/deploy-hub.md", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0, await database.CurrentVersionAsync(Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Reports_AreAppendOnly_InTheStoreItself(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var id = await hub.DeliverAsync();
        var report = await hub.Store.SubmitReportAsync("soft", "Soft", new SubmitReportRequest
        {
            ConsultationId = id,
            Diagnosis = new Diagnosis { Text = "診断", MorphologyCode = "8850/3" },
            Concordance = Concordance.MajorDiscordance,
        }, CancellationToken.None);
        Assert.True(ReportDigest.Verify(report));

        var update = await Assert.ThrowsAnyAsync<DbException>(() => hub.ExecuteAsync($"UPDATE consultation_reports SET concordance = 1 WHERE consultation_id = '{id}'"));
        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<DbException>(() => hub.ExecuteAsync($"DELETE FROM consultation_reports WHERE consultation_id = '{id}'"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Deliver_SameIdFromAnotherNode_IsAccessDenied(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.ExecuteAsync("INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('other', 'CORE-004', '2026-01-01T00:00:00.0000000Z')");
        var id = await hub.DeliverAsync();
        var request = new DeliverConsultationRequest { ConsultationId = id, Details = new ConsultationDetails() };
        await Assert.ThrowsAsync<AccessDeniedException>(() => hub.Store.DeliverAsync("other", request, CancellationToken.None));
    }

    [Fact]
    public void ReportDigest_DetectsAnyChange()
    {
        var report = new ConsultationReport { ConsultationId = "x", Version = 1, Diagnosis = new Diagnosis { Text = "脂肪肉腫", MorphologyCode = "8850/3" }, Concordance = Concordance.Concordant };
        report.ContentSha256 = ReportDigest.Compute(report);
        Assert.True(ReportDigest.Verify(report));
        var altered = report.Clone();
        altered.Diagnosis.Text = "脂肪腫";
        Assert.False(ReportDigest.Verify(altered));
    }
}
