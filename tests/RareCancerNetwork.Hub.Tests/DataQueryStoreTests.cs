using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>Data queries at the hub, on both providers: raised once, sent down the record's feed, closed by an answer, an update of their field, or the data manager.</summary>
public sealed class DataQueryStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Stores(HubStore Hub, RegistryStore Registry, DataQueryStore Queries) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Hub.DisposeAsync();
    }

    private static async Task<Stores> CreateAsync(HubStorageProvider provider)
    {
        var hub = await HubStore.CreateAsync(provider);
        return new Stores(hub, new RegistryStore(hub.Database, hub.Feed, TimeProvider.System), new DataQueryStore(hub.Database, hub.Feed, TimeProvider.System));
    }

    private static RaiseDataQueryRequest Raise(string recordId, string field, string question = "ECOG が未入力です") => new()
    {
        QueryId = Guid.CreateVersion7().ToString(),
        RecordId = recordId,
        Field = field,
        Question = question,
    };

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Raise_GoesDownTheRecordsFeed_OnceForARepeat_AndOtherContentUnderTheSameIdIsRefused(HubStorageProvider provider)
    {
        await using var stores = await CreateAsync(provider);
        var record = RegistrySamples.Record();
        await stores.Registry.DeliverAsync(HubStore.NodeId, [record], Ct);
        var request = Raise(record.RecordId, "biomarkers[2].detail", "p.G12C の VAF を確認してください");

        var (query, duplicate) = await stores.Queries.RaiseAsync(request, "dm-1", Ct);
        Assert.False(duplicate);
        Assert.Equal((DataQueryState.Open, 1L, "CORE-004", "dm-1"), (query.State, query.RecordVersion, query.FacilityCode, query.RaisedBy));
        var again = await stores.Queries.RaiseAsync(request, "dm-1", Ct);
        Assert.True(again.Duplicate);
        Assert.Equal(query, again.Query);
        var changed = request.Clone();
        changed.Question = "別の質問";
        await Assert.ThrowsAsync<ConflictException>(() => stores.Queries.RaiseAsync(changed, "dm-1", Ct));

        var events = await stores.Hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct);
        var raised = Assert.Single(events);
        Assert.Equal(query, raised.DataQueryRaised);
        Assert.Equal("p.G12C の VAF を確認してください", raised.DataQueryRaised.Question);
        Assert.Equal("", raised.ConsultationId);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Raise_NamesAFieldOfTheRecord_OrIsRefusedWithTheReason(HubStorageProvider provider)
    {
        await using var stores = await CreateAsync(provider);
        var record = RegistrySamples.Record();
        await stores.Registry.DeliverAsync(HubStore.NodeId, [record], Ct);

        foreach (var (field, reason) in new[]
        {
            ("biomarkers[3].gene", "has 3 entries"),
            ("biomarkers.gene", "is a list"),
            ("ecog.value", "has no fields"),
            ("follow_up.death", "has no field 'follow_up.death'"),
            ("version", "has no field 'version'"),
            ("Ecog", "is not a field name"),
        })
        {
            var refused = await Assert.ThrowsAsync<InvalidFieldsException>(() => stores.Queries.RaiseAsync(Raise(record.RecordId, field), "dm-1", Ct));
            var violation = Assert.Single(refused.Violations);
            Assert.Equal("field", violation.Field);
            Assert.Contains(reason, violation.Description, StringComparison.Ordinal);
        }
        foreach (var field in new[] { "ecog", "follow_up.death_date", "treatment_lines[1]", "panel_tests[0].expert_panel_date", "diagnosis" })
        {
            Assert.False((await stores.Queries.RaiseAsync(Raise(record.RecordId, field), "dm-1", Ct)).Duplicate);
        }
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => stores.Queries.RaiseAsync(Raise(Guid.CreateVersion7().ToString(), "ecog"), "dm-1", Ct));
        Assert.DoesNotContain(await stores.Hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct), e => e.DataQueryRaised is { Field: "biomarkers[3].gene" });
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task NewVersion_ClosesTheQueriesOnTheFieldsItChanged_AndOnlyThose(HubStorageProvider provider)
    {
        await using var stores = await CreateAsync(provider);
        var v1 = RegistrySamples.Record();
        v1.ClearEcog();
        await stores.Registry.DeliverAsync(HubStore.NodeId, [v1], Ct);
        var (ecog, _) = await stores.Queries.RaiseAsync(Raise(v1.RecordId, "ecog"), "dm-1", Ct);
        var (death, _) = await stores.Queries.RaiseAsync(Raise(v1.RecordId, "follow_up.progression_date", "進行日を確認してください"), "dm-1", Ct);
        var (gene, _) = await stores.Queries.RaiseAsync(Raise(v1.RecordId, "biomarkers[1]", "融合遺伝子の記載を確認してください"), "dm-1", Ct);

        var v2 = v1.Clone();
        v2.Version = 2;
        v2.Ecog = 2;
        v2.Biomarkers[1].Detail = "EWSR1::FLI1 (type 1)";
        v2.UpdatedBy = "suzuki";
        Assert.Equal(RegistryDeliveryOutcome.Stored, Assert.Single(await stores.Registry.DeliverAsync(HubStore.NodeId, [v2], Ct)).Outcome);

        var all = (await stores.Queries.ListAsync("", v1.RecordId, openOnly: false, 50, "", Ct)).Page.ToDictionary(q => q.QueryId);
        foreach (var closed in new[] { ecog, gene })
        {
            var now = all[closed.QueryId];
            Assert.Equal((DataQueryState.Closed, DataQueryResolution.Updated, 2L, "suzuki"), (now.State, now.Resolution, now.AnsweredByVersion, now.ClosedBy));
            Assert.NotNull(now.ClosedAt);
        }
        Assert.Equal(DataQueryState.Open, all[death.QueryId].State);
        var closings = (await stores.Hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct)).Where(e => e.DataQueryClosed is not null).Select(e => e.DataQueryClosed.QueryId);
        Assert.Equal(new[] { ecog.QueryId, gene.QueryId }.Order(), closings.Order());
        // A duplicate of the same version changes nothing more.
        await stores.Registry.DeliverAsync(HubStore.NodeId, [v2], Ct);
        Assert.Equal(2, (await stores.Hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct)).Count(e => e.DataQueryClosed is not null));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Answer_ByTheRecordsNodeOnly_ClosesOnce_CancelWithdrawsOnlyOpenQueries(HubStorageProvider provider)
    {
        await using var stores = await CreateAsync(provider);
        await stores.Hub.ExecuteAsync("INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('other', 'CORE-004', '2026-01-01T00:00:00.0000000Z')");
        var record = RegistrySamples.Record();
        await stores.Registry.DeliverAsync(HubStore.NodeId, [record], Ct);
        var (answered, _) = await stores.Queries.RaiseAsync(Raise(record.RecordId, "follow_up.progression_date"), "dm-1", Ct);
        var (cancelled, _) = await stores.Queries.RaiseAsync(Raise(record.RecordId, "ecog"), "dm-1", Ct);
        var answer = new AnswerDataQueryRequest { QueryId = answered.QueryId, Comment = "カルテで確認済み：正しい値です", AnsweredBy = "yamada" };

        await Assert.ThrowsAsync<AccessDeniedException>(() => stores.Queries.AnswerAsync("other", answer, Ct));
        var closed = await stores.Queries.AnswerAsync(HubStore.NodeId, answer, Ct);
        Assert.Equal((DataQueryState.Closed, DataQueryResolution.Confirmed, "カルテで確認済み：正しい値です", "yamada"),
            (closed.State, closed.Resolution, closed.AnswerComment, closed.ClosedBy));
        var repeat = answer.Clone();
        repeat.Comment = "再送";
        Assert.Equal(closed, await stores.Queries.AnswerAsync(HubStore.NodeId, repeat, Ct));
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => stores.Queries.AnswerAsync(HubStore.NodeId,
            new AnswerDataQueryRequest { QueryId = Guid.CreateVersion7().ToString(), Comment = "x", AnsweredBy = "yamada" }, Ct));

        var refused = await Assert.ThrowsAsync<PreconditionFailedException>(() => stores.Queries.CancelAsync(answered.QueryId, "dm-1", Ct));
        Assert.Equal("DATA_QUERY_CLOSED", refused.Reason);
        var withdrawn = await stores.Queries.CancelAsync(cancelled.QueryId, "dm-1", Ct);
        Assert.Equal((DataQueryState.Closed, DataQueryResolution.Cancelled, "dm-1"), (withdrawn.State, withdrawn.Resolution, withdrawn.ClosedBy));
        Assert.Equal(withdrawn, await stores.Queries.CancelAsync(cancelled.QueryId, "dm-1", Ct));
        // Each closing went down the feed once.
        var closings = (await stores.Hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, Ct)).Where(e => e.DataQueryClosed is not null).ToList();
        Assert.Equal([answered.QueryId, cancelled.QueryId], closings.Select(e => e.DataQueryClosed.QueryId));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task OpenQueries_CountedPerFacility_ListedNewestFirstInPages_AndGoWithAWithdrawnRecord(HubStorageProvider provider)
    {
        await using var stores = await CreateAsync(provider);
        await stores.Hub.ExecuteAsync(
            """
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-001', '国立がん研究センター中央病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-b', 'CORE-001', '2026-01-01T00:00:00.0000000Z');
            """);
        var a = RegistrySamples.Record();
        var b = RegistrySamples.Record("CORE-001");
        await stores.Registry.DeliverAsync(HubStore.NodeId, [a], Ct);
        await stores.Registry.DeliverAsync("spoke-b", [b], Ct);
        var raisedAtA = new List<DataQuery>();
        for (var i = 0; i < 5; i++)
        {
            raisedAtA.Add((await stores.Queries.RaiseAsync(Raise(a.RecordId, "ecog", $"質問 {i}"), "dm-1", Ct)).Query);
        }
        var (atB, _) = await stores.Queries.RaiseAsync(Raise(b.RecordId, "ecog"), "dm-1", Ct);
        await stores.Queries.CancelAsync(raisedAtA[0].QueryId, "dm-1", Ct);

        var counts = await stores.Queries.CountOpenAsync(Ct);
        Assert.Equal(5, counts.TotalOpenQueries);
        Assert.Equal([("CORE-001", "国立がん研究センター中央病院", 1L), ("CORE-004", "東京大学医学部附属病院", 4L)],
            counts.Facilities.Select(f => (f.FacilityCode, f.FacilityName, f.OpenQueries)));
        Assert.Equal(raisedAtA[1].RaisedAt, counts.Facilities[1].OldestRaisedAt);

        var seen = new List<DataQuery>();
        var token = "";
        do
        {
            var (page, next) = await stores.Queries.ListAsync("CORE-004", "", openOnly: true, 3, token, Ct);
            Assert.True(page.Count <= 3);
            seen.AddRange(page);
            token = next;
        }
        while (token.Length > 0);
        Assert.Equal(raisedAtA.Skip(1).Select(q => q.QueryId).Reverse(), seen.Select(q => q.QueryId));
        Assert.Equal(6, (await stores.Queries.ListAsync("", "", openOnly: false, 50, "", Ct)).Page.Count);

        await stores.Registry.WithdrawAsync(HubStore.NodeId, new DeliverRegistryWithdrawalRequest
        {
            RecordId = a.RecordId, WithdrawnOn = "2026-03-01", RecordedBy = "yamada", PatientPseudonym = a.PatientPseudonym,
        }, Ct);
        Assert.Equal(0, await stores.Hub.ScalarAsync($"SELECT COUNT(*) FROM registry_data_queries WHERE record_id = '{a.RecordId}'"));
        Assert.Equal(atB.QueryId, Assert.Single((await stores.Queries.ListAsync("", "", openOnly: false, 50, "", Ct)).Page).QueryId);
        Assert.Equal(1, (await stores.Queries.CountOpenAsync(Ct)).TotalOpenQueries);
    }

    /// <summary>The people table is rebuilt on SQLite for the new role: every person survives, and a data manager needs a second factor.</summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Migration_KeepsEveryPerson_AndDataManagersNeedASecondFactor(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateEmptyAsync(provider, targetVersion: 7);
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO users (user_id, display_name, role, facility_code, password_hash, registered_at)
            VALUES ('stat-1', '統計 花子', 'statistician', 'CORE-004', 'hash', '2026-01-01T00:00:00.0000000Z');
            """);
        await hub.Database.MigrateAsync(Ct);
        Assert.Equal(1, await hub.ScalarAsync("SELECT COUNT(*) FROM users WHERE user_id = 'stat-1' AND display_name = '統計 花子' AND role = 'statistician'"));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => hub.ExecuteAsync(
            "INSERT INTO users (user_id, display_name, role, facility_code, password_hash, registered_at) VALUES ('dm-1', 'dm', 'registry_data_manager', 'CORE-004', 'h', 'now')"));
        await hub.ExecuteAsync(
            "INSERT INTO users (user_id, display_name, role, facility_code, password_hash, totp_secret_protected, registered_at) VALUES ('dm-1', 'dm', 'registry_data_manager', 'CORE-004', 'h', 'secret', 'now')");
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => hub.ExecuteAsync(
            "INSERT INTO users (user_id, display_name, role, facility_code, password_hash, totp_secret_protected, registered_at) VALUES ('x-1', 'x', 'superuser', 'CORE-004', 'h', 'secret', 'now')"));
    }
}
