using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>A submission and its call's audit entry commit together, or neither does.</summary>
public sealed class CallAuditTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AuditRecord Success(string consultationId, string userId = "local-spoke-pathology") =>
        new(AuditVocabulary.EventTypePatientDataAccess, "C", AuditVocabulary.Success, "/rcn.spoke.v1.LocalConsultationService/SubmitConsultation",
            userId, "pathologist", "127.0.0.1", "consultation", consultationId, "OK");

    [Fact]
    public async Task ASubmission_AndItsEntry_AreCommittedTogether_Once()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var log = new AuditLog(spoke.Database.Database, "spoke-test", TimeProvider.System);
        var request = SpokeStoreFixture.Submission();
        var audit = new CallAudit(log, [Success(request.ConsultationId)]);

        await spoke.Store.SubmitAsync("CORE-004", "t", request, audit, Ct);

        Assert.True(audit.Committed);
        var entry = Assert.Single(await log.ReadAsync(0, 100, Ct));
        Assert.Equal(("consultation", request.ConsultationId, AuditVocabulary.Success), (entry.ObjectType, entry.ObjectId, entry.Outcome));
        Assert.Equal(1, await spoke.ScalarAsync("SELECT COUNT(*) FROM consultations"));
        Assert.True((await log.VerifyAsync(Ct)).Intact);
    }

    [Fact]
    public async Task AnEntryThatCannotBeWritten_LeavesNoSubmission()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var log = new AuditLog(spoke.Database.Database, "spoke-test", TimeProvider.System);
        var request = SpokeStoreFixture.Submission();
        // The trail's columns are NOT NULL: an entry without a user cannot be appended.
        var audit = new CallAudit(log, [Success(request.ConsultationId, userId: null!)]);

        await Assert.ThrowsAnyAsync<Exception>(() => spoke.Store.SubmitAsync("CORE-004", "t", request, audit, Ct));

        Assert.False(audit.Committed);
        Assert.Equal(0, await spoke.ScalarAsync("SELECT COUNT(*) FROM consultations"));
        Assert.Equal(0, await spoke.ScalarAsync("SELECT COUNT(*) FROM outbox"));
        Assert.Empty(await log.ReadAsync(0, 100, Ct));
    }

    [Fact]
    public async Task ARefusedSubmission_WritesNoSuccessEntry()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var log = new AuditLog(spoke.Database.Database, "spoke-test", TimeProvider.System);
        var request = SpokeStoreFixture.Submission();
        await spoke.Store.SubmitAsync("CORE-004", "t", request, null, Ct);
        var changed = request.Clone();
        changed.Details.ClinicalSummary = "別の内容";
        var audit = new CallAudit(log, [Success(request.ConsultationId)]);

        await Assert.ThrowsAsync<ConflictException>(() => spoke.Store.SubmitAsync("CORE-004", "t", changed, audit, Ct));

        // The interceptor then writes the failure entry, as for any refused call.
        Assert.False(audit.Committed);
        Assert.Empty(await log.ReadAsync(0, 100, Ct));
    }

    [Fact]
    public async Task AnEntry_CannotJoinAWriteOfAnotherDatabase()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var otherDatabase = new SqliteDatabase(Path.Combine(spoke.Folder, "other.db"), typeof(SpokeStoreFixture).Assembly);
        var audit = new CallAudit(new AuditLog(otherDatabase, "spoke-test", TimeProvider.System), [Success(Guid.CreateVersion7().ToString())]);

        await Assert.ThrowsAsync<InvalidOperationException>(() => spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), audit, Ct));
        Assert.Equal(0, await spoke.ScalarAsync("SELECT COUNT(*) FROM consultations"));
    }
}
