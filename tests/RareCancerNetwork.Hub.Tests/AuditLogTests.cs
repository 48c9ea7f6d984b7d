using System.Data.Common;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Audit;

namespace RareCancerNetwork.Hub.Tests;

public sealed class AuditLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Appends_FormAnIntactChain_AndTheStoreRefusesEditsAndDeletes(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var log = await FilledAsync(hub, 5);
        var verification = await log.VerifyAsync(Ct);
        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(5, verification.EntriesChecked);
        await Assert.ThrowsAnyAsync<DbException>(() => hub.ExecuteAsync("UPDATE audit_log SET user_id = 'x' WHERE sequence = 2"));
        await Assert.ThrowsAnyAsync<DbException>(() => hub.ExecuteAsync("DELETE FROM audit_log WHERE sequence = 2"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task EditedEntry_IsNamed(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var log = await FilledAsync(hub, 5);
        await TamperAsync(hub, "UPDATE audit_log SET object_id = 'another-patient' WHERE sequence = 3");
        var verification = await log.VerifyAsync(Ct);
        Assert.Equal(3, verification.FirstBrokenSequence);
        Assert.Contains("edited", verification.Problem, StringComparison.Ordinal);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task DeletedEntry_IsNamed(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var log = await FilledAsync(hub, 5);
        await TamperAsync(hub, "DELETE FROM audit_log WHERE sequence = 2");
        Assert.Equal(3, (await log.VerifyAsync(Ct)).FirstBrokenSequence);

        // Deleting the newest entries and renumbering cannot hide either: links break.
        await using var other = await HubStore.CreateAsync(provider);
        var otherLog = await FilledAsync(other, 5);
        await TamperAsync(other, "DELETE FROM audit_log WHERE sequence = 2; UPDATE audit_log SET sequence = sequence - 1 WHERE sequence > 2");
        Assert.Equal(2, (await otherLog.VerifyAsync(Ct)).FirstBrokenSequence);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task ReorderedEntries_AreNamed(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var log = await FilledAsync(hub, 5);
        await TamperAsync(hub, "UPDATE audit_log SET sequence = -1 WHERE sequence = 2; UPDATE audit_log SET sequence = 2 WHERE sequence = 4; UPDATE audit_log SET sequence = 4 WHERE sequence = -1");
        var verification = await log.VerifyAsync(Ct);
        Assert.Equal(2, verification.FirstBrokenSequence);
        Assert.Contains("reordered", verification.Problem, StringComparison.Ordinal);
    }

    private static async Task<AuditLog> FilledAsync(HubStore hub, int count)
    {
        var log = new AuditLog(hub.Database, "hub", TimeProvider.System);
        for (var i = 0; i < count; i++)
        {
            await log.AppendAsync(new AuditRecord(AuditVocabulary.EventTypePatientDataAccess, "R", AuditVocabulary.Success, "/test/Read", $"user-{i}", "pathologist",
                "127.0.0.1", "consultation", Guid.CreateVersion7().ToString(), "OK"), Ct);
        }
        return log;
    }

    private static Task TamperAsync(HubStore hub, string sql) => hub.TamperAsync("audit_log", sql);
}
