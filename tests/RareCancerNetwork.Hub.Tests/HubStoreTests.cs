using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

public sealed class HubStoreTests
{
    [Fact]
    public async Task Migrate_TwiceOnTheSameFile_IsIdempotent_AndUsesWal()
    {
        await using var hub = await HubStore.CreateAsync();
        Assert.Equal(0, await hub.Database.Database.MigrateAsync(CancellationToken.None));
        await using var connection = await hub.Database.OpenAsync(CancellationToken.None);
        await using var version = connection.Command("PRAGMA user_version");
        Assert.Equal((long)hub.Database.Database.LatestVersion, (long)(await version.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
        await using var mode = connection.Command("PRAGMA journal_mode");
        Assert.Equal("wal", await mode.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        await using var sync = connection.Command("PRAGMA synchronous");
        Assert.Equal(2L, await sync.ExecuteScalarAsync(TestContext.Current.CancellationToken)); // FULL
    }

    [Fact]
    public async Task Reports_AreAppendOnly_InTheStoreItself()
    {
        await using var hub = await HubStore.CreateAsync();
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var id = await hub.DeliverAsync();
        var report = await hub.Store.SubmitReportAsync("soft", "Soft", new SubmitReportRequest
        {
            ConsultationId = id,
            Diagnosis = new Diagnosis { Text = "診断", MorphologyCode = "8850/3" },
            Concordance = Concordance.MajorDiscordance,
        }, CancellationToken.None);
        Assert.True(ReportDigest.Verify(report));

        var update = await Assert.ThrowsAsync<SqliteException>(() => hub.ExecuteAsync($"UPDATE consultation_reports SET concordance = 1 WHERE consultation_id = '{id}'"));
        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SqliteException>(() => hub.ExecuteAsync($"DELETE FROM consultation_reports WHERE consultation_id = '{id}'"));
    }

    [Fact]
    public async Task Deliver_SameIdFromAnotherNode_IsAccessDenied()
    {
        await using var hub = await HubStore.CreateAsync();
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
