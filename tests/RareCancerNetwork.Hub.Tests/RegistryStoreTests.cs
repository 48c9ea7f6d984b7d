using Google.Protobuf;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>Registry versions at the hub, on both providers: stored once, in order, stale ones answered with the current version.</summary>
public sealed class RegistryStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HubStore Hub, RegistryStore Registry)> CreateAsync(HubStorageProvider provider)
    {
        var hub = await HubStore.CreateAsync(provider);
        return (hub, new RegistryStore(hub.Database, new RareCancerNetwork.Hub.Feed.EventFeed(hub.Database), TimeProvider.System));
    }

    /// <summary>
    /// What a batch reads about its records takes its ids as one parameter; SQLite must still look each id up by its index,
    /// not read a whole table (a million records at a national hub).
    /// </summary>
    [Fact]
    public async Task BatchReads_LookEachIdUpByIndex()
    {
        await using var hub = await HubStore.CreateAsync();
        foreach (var statement in new[] { RegistryStore.WithdrawnAmongSql, RegistryStore.CurrentAmongSql, RegistryStore.OpenQueriesAmongSql })
        {
            await using var connection = await hub.Database.OpenAsync(Ct);
            var steps = await QueryPlans.StepsAsync(connection, RegistryStore.AmongIds(statement, HubStorageProvider.Sqlite), Ct);

            // Every table read (a table may be named by its alias), the ids' own list aside.
            var tableReads = steps.Where(step => step.StartsWith("SCAN", StringComparison.Ordinal) || step.StartsWith("SEARCH", StringComparison.Ordinal))
                .Where(step => !step.Contains("json_each", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(tableReads);
            Assert.All(tableReads, step => Assert.StartsWith("SEARCH", step, StringComparison.Ordinal));
        }
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Versions_StoredInOrder_RepeatIsDuplicate_StaleAnsweredWithCurrent(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        var v1 = RegistrySamples.Record();
        var v2 = v1.Clone();
        v2.Version = 2;
        v2.Ecog = 2;
        var v3 = v2.Clone();
        v3.Version = 3;
        v3.FollowUp.LastContactDate = "2026-02-20";

        var first = await registry.DeliverAsync(HubStore.NodeId, [v1, v2, v3], Ct);
        Assert.All(first, r => Assert.Equal(RegistryDeliveryOutcome.Stored, r.Outcome));
        var again = await registry.DeliverAsync(HubStore.NodeId, [v2, v3], Ct);
        Assert.All(again, r => Assert.Equal(RegistryDeliveryOutcome.Duplicate, r.Outcome));

        // Another version 3 (a spoke restored from an old backup, say): stale, never merged.
        var competing = v2.Clone();
        competing.Version = 3;
        competing.Ecog = 4;
        var stale = Assert.Single(await registry.DeliverAsync(HubStore.NodeId, [competing], Ct));
        Assert.Equal(RegistryDeliveryOutcome.Stale, stale.Outcome);
        Assert.Equal(v3, stale.Current);
        Assert.Contains("holds version 3", stale.Message, StringComparison.Ordinal);

        Assert.Equal(v3.ToByteArray(), (await registry.GetAsync(v1.RecordId, Ct))!.ToByteArray());
        Assert.Equal([1L, 2L, 3L], (await registry.VersionsAsync(v1.RecordId, Ct)).Select(r => r.Version));
        Assert.Equal("パゾパニブ", (await registry.GetAsync(v1.RecordId, Ct))!.TreatmentLines[0].Regimen);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Pages_OfOneFacilityAndOfAll_WalkEachRecordOnce_InRecordIdOrder(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        await hub.ExecuteAsync("INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('COOP-7', '連携病院', 3, '東京都', 'Kanto')");
        var records = Enumerable.Range(0, 7).Select(i => RegistrySamples.Record(i % 3 == 0 ? "COOP-7" : "CORE-004")).ToList();
        await registry.DeliverAsync(HubStore.NodeId, records, Ct);
        async Task<List<string>> WalkAsync(string facility)
        {
            var (ids, token) = (new List<string>(), "");
            do
            {
                var (page, next) = await registry.PageAsync(facility, 2, token, Ct);
                ids.AddRange(page.Select(r => r.RecordId));
                token = next;
            }
            while (token.Length > 0);
            return ids;
        }
        Assert.Equal(records.Where(r => r.EnrollingFacilityCode == "COOP-7").Select(r => r.RecordId).Order(StringComparer.Ordinal), await WalkAsync("COOP-7"));
        Assert.Equal(records.Select(r => r.RecordId).Order(StringComparer.Ordinal), await WalkAsync(""));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task FirstVersionTheHubSees_MayBeLater_AGapAfterwardsIsStale_AnotherNodesRecordIsRefused(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        await hub.ExecuteAsync("INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('other', 'CORE-004', '2026-01-01T00:00:00.0000000Z')");
        // Versions 1-2 stayed at the spoke (no registry consent then); version 3 is the first the hub sees.
        var v3 = RegistrySamples.Record(version: 3);
        Assert.Equal(RegistryDeliveryOutcome.Stored, Assert.Single(await registry.DeliverAsync(HubStore.NodeId, [v3], Ct)).Outcome);
        var v5 = v3.Clone();
        v5.Version = 5;
        Assert.Equal(RegistryDeliveryOutcome.Stale, Assert.Single(await registry.DeliverAsync(HubStore.NodeId, [v5], Ct)).Outcome);
        var v4 = v3.Clone();
        v4.Version = 4;
        var refused = Assert.Single(await registry.DeliverAsync("other", [v4], Ct));
        Assert.Equal(RegistryDeliveryOutcome.Refused, refused.Outcome);
        Assert.Contains("another spoke node", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await registry.GetAsync(v3.RecordId, Ct))!.Version);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Versions_AreNeverChanged_NorRemovedWithoutAWithdrawal(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        var record = RegistrySamples.Record();
        await registry.DeliverAsync(HubStore.NodeId, [record], Ct);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => hub.ExecuteAsync($"UPDATE registry_record_versions SET content_sha256 = 'x' WHERE record_id = '{record.RecordId}'"));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => hub.ExecuteAsync($"DELETE FROM registry_record_versions WHERE record_id = '{record.RecordId}'"));
        Assert.Equal(1, await hub.ScalarAsync($"SELECT COUNT(*) FROM registry_record_versions WHERE record_id = '{record.RecordId}'"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task SameBatch_ThroughTwoInstancesAtOnce_IsStoredOnce(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        await using var other = hub.SecondInstance();
        var otherRegistry = new RegistryStore(other.Database, new RareCancerNetwork.Hub.Feed.EventFeed(other.Database), TimeProvider.System);
        var batch = Enumerable.Range(0, 50).Select(i => RegistrySamples.Record()).ToList();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Task.Run(() => (i % 2 == 0 ? registry : otherRegistry).DeliverAsync(HubStore.NodeId, batch, Ct), Ct)));
        Assert.All(batch, record => Assert.Equal(1, outcomes.Count(o => o.Single(r => r.RecordId == record.RecordId).Outcome == RegistryDeliveryOutcome.Stored)));
        Assert.Equal(50, await hub.ScalarAsync("SELECT COUNT(*) FROM registry_record_versions"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Withdrawal_LeavesOnlyTheTombstone_AndRefusesTheRecordFromThenOn(HubStorageProvider provider)
    {
        var (hub, registry) = await CreateAsync(provider);
        await using var _ = hub;
        var v1 = RegistrySamples.Record();
        var v2 = v1.Clone();
        v2.Version = 2;
        await registry.DeliverAsync(HubStore.NodeId, [v1, v2], Ct);
        var withdrawal = new DeliverRegistryWithdrawalRequest { RecordId = v1.RecordId, WithdrawnOn = "2026-02-10", RecordedBy = "yamada", PatientPseudonym = v1.PatientPseudonym };

        Assert.True(await registry.WithdrawAsync(HubStore.NodeId, withdrawal, Ct));
        Assert.False(await registry.WithdrawAsync(HubStore.NodeId, withdrawal, Ct));
        Assert.Null(await registry.GetAsync(v1.RecordId, Ct));
        Assert.Empty(await registry.VersionsAsync(v1.RecordId, Ct));
        Assert.Equal(0, await hub.ScalarAsync($"SELECT COUNT(*) FROM registry_records WHERE record_id = '{v1.RecordId}'"));
        Assert.Equal(1, await hub.ScalarAsync(
            $"SELECT COUNT(*) FROM registry_withdrawals WHERE record_id = '{v1.RecordId}' AND patient_pseudonym = '{v1.PatientPseudonym}' AND withdrawn_on = '2026-02-10' AND recorded_by = 'yamada'"));

        var again = v2.Clone();
        again.Version = 3;
        var refused = Assert.Single(await registry.DeliverAsync(HubStore.NodeId, [again], Ct));
        Assert.Equal(RegistryDeliveryOutcome.Refused, refused.Outcome);
        Assert.Contains("withdrawn", refused.Message, StringComparison.Ordinal);
        // Another node cannot withdraw (or learn of) a record that is not its own.
        var other = RegistrySamples.Record();
        await registry.DeliverAsync(HubStore.NodeId, [other], Ct);
        await hub.ExecuteAsync("INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('other', 'CORE-004', '2026-01-01T00:00:00.0000000Z')");
        await Assert.ThrowsAsync<RareCancerNetwork.Node.Errors.AccessDeniedException>(() => registry.WithdrawAsync("other",
            new DeliverRegistryWithdrawalRequest { RecordId = other.RecordId, WithdrawnOn = "2026-02-10", RecordedBy = "x", PatientPseudonym = other.PatientPseudonym }, Ct));
        Assert.NotNull(await registry.GetAsync(other.RecordId, Ct));
    }

    /// <summary>
    /// A hub from before a record's bytes were kept once (migration 0022; its current row held them too): afterwards each
    /// record reads as its current version's bytes, its history is whole, and a later version is stored on top of it.
    /// </summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task HubFromBeforeBytesWereKeptOnce_ServesEachRecordsCurrentVersion(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateEmptyAsync(provider, targetVersion: 21);
        var v1 = RegistrySamples.Record();
        var v2 = v1.Clone();
        v2.Version = 2;
        v2.Ecog = 2;
        string Bytes(RegistryRecord record) => provider == HubStorageProvider.Postgres
            ? $"decode('{Convert.ToHexStringLower(record.ToByteArray())}', 'hex')"
            : $"X'{Convert.ToHexStringLower(record.ToByteArray())}'";
        await hub.ExecuteAsync(
            $"""
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('{HubStore.NodeId}', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            INSERT INTO registry_records (record_id, spoke_node_id, facility_code, patient_pseudonym, version, enrolment_date, category, prefecture, secondary_use, record, updated_at)
            VALUES ('{v1.RecordId}', '{HubStore.NodeId}', 'CORE-004', '{v1.PatientPseudonym}', 2, '{v1.EnrolmentDate}', {(int)v1.Diagnosis.Category}, '東京都', 1, {Bytes(v2)}, '2026-01-02T00:00:00.0000000Z');
            INSERT INTO registry_record_versions (record_id, version, content_sha256, record, received_at)
            VALUES ('{v1.RecordId}', 1, 'sha-1', {Bytes(v1)}, '2026-01-01T00:00:00.0000000Z'), ('{v1.RecordId}', 2, 'sha-2', {Bytes(v2)}, '2026-01-02T00:00:00.0000000Z');
            """);

        await hub.Database.MigrateAsync(Ct);
        var registry = new RegistryStore(hub.Database, new RareCancerNetwork.Hub.Feed.EventFeed(hub.Database), TimeProvider.System);

        Assert.Equal(v2, await registry.GetAsync(v1.RecordId, Ct));
        Assert.Equal([v1, v2], await registry.VersionsAsync(v1.RecordId, Ct));
        var v3 = v2.Clone();
        v3.Version = 3;
        v3.Ecog = 1;
        Assert.Equal(RegistryDeliveryOutcome.Stored, Assert.Single(await registry.DeliverAsync(HubStore.NodeId, [v3], Ct)).Outcome);
        Assert.Equal(v3, await registry.GetAsync(v1.RecordId, Ct));
    }
}
