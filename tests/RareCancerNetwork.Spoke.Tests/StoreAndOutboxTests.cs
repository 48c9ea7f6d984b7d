using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Spoke.Tests;

public sealed class StoreAndOutboxTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Submit_StoresRecordAndOutboxEntryTogether_WithPseudonymOnlyInThePayload()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var request = SpokeStoreFixture.Submission("P-SECRET-42");
        var (stored, duplicate) = await spoke.Store.SubmitAsync("CORE-004", "tester", request, null, Ct);
        Assert.False(duplicate);
        Assert.Equal(ConsultationStatus.Submitted, stored.Status);
        Assert.Equal(DeliveryState.Pending, stored.DeliveryState);

        var pending = await spoke.Outbox.DueAsync(10, Ct);
        var entry = Assert.Single(pending);
        var delivery = DeliverConsultationRequest.Parser.ParseFrom(entry.Payload);
        Assert.Equal(request.ConsultationId, delivery.ConsultationId);
        Assert.Equal(spoke.Pseudonymizer.Pseudonymise("P-SECRET-42"), delivery.PatientPseudonym);
        Assert.DoesNotContain("P-SECRET-42", System.Text.Encoding.UTF8.GetString(entry.Payload), StringComparison.Ordinal);
        Assert.Equal("CORE-004", delivery.RequestingFacilityCode);
    }

    [Fact]
    public async Task Submit_Repeated_ReturnsOriginal_OneRowOneOutboxEntry_DifferentContentRefused()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var request = SpokeStoreFixture.Submission();
        await spoke.Store.SubmitAsync("CORE-004", "tester", request, null, Ct);
        var (_, duplicate) = await spoke.Store.SubmitAsync("CORE-004", "tester", request, null, Ct);
        Assert.True(duplicate);
        Assert.Equal(1, await spoke.ScalarAsync("SELECT COUNT(*) FROM consultations"));
        Assert.Equal(1, await spoke.ScalarAsync("SELECT COUNT(*) FROM outbox"));

        var changed = request.Clone();
        changed.LocalPatientId = "P-2";
        await Assert.ThrowsAsync<ConflictException>(() => spoke.Store.SubmitAsync("CORE-004", "tester", changed, null, Ct));
        Assert.Equal(1, await spoke.ScalarAsync("SELECT COUNT(*) FROM outbox"));
    }

    [Fact]
    public async Task Outbox_SurvivesReopen_DeliveredAndRejectedLeaveThePendingSet()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"rcn-spoke-unit-{Guid.CreateVersion7():N}");
        string delivered;
        string rejected;
        await using (var first = await SpokeStoreFixture.CreateAsync(folder))
        {
            delivered = (await first.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
            rejected = (await first.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            // Reopen the same files as a restarted node would (dispose of `first` removes the folder later).
            var reopened = await SpokeStoreFixture.CreateAsync(folder);
            var pending = await reopened.Outbox.DueAsync(10, Ct);
            Assert.Equal([delivered, rejected], pending.Select(e => e.AggregateId));

            await reopened.Outbox.MarkDeliveredAsync([pending[0]], Ct);
            await reopened.Outbox.MarkRefusedAsync([pending[1]], "InvalidArgument: details.question: is required", Ct);
            Assert.Empty(await reopened.Outbox.DueAsync(10, Ct));
            Assert.Equal(0, (await reopened.Outbox.StatusAsync(Ct)).Pending);

            var ok = await reopened.Store.GetAsync(delivered, Ct);
            Assert.Equal((ConsultationStatus.Received, DeliveryState.Delivered), (ok.Status, ok.DeliveryState));
            var refused = await reopened.Store.GetAsync(rejected, Ct);
            Assert.Equal((ConsultationStatus.Rejected, DeliveryState.Rejected), (refused.Status, refused.DeliveryState));
            Assert.Contains("details.question", refused.DeliveryError, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task List_PagesNewestFirst_WithoutGapsOrRepeats()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission($"P-{i}"), null, Ct)).Consultation.ConsultationId);
        }
        var seen = new List<string>();
        var token = "";
        do
        {
            var (page, next) = await spoke.Store.ListAsync(ConsultationStatus.Unspecified, 3, token, Ct);
            seen.AddRange(page.Select(c => c.ConsultationId));
            token = next;
        }
        while (token.Length > 0);
        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
    }

    [Fact]
    public async Task Submit_SameContentUnderANewId_ReturnsTheOriginal_NothingNewStored()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var first = SpokeStoreFixture.Submission("P-7");
        await spoke.Store.SubmitAsync("CORE-004", "tester", first, null, Ct);
        var rerun = first.Clone();
        rerun.ConsultationId = Guid.CreateVersion7().ToString();

        var (returned, duplicate) = await spoke.Store.SubmitAsync("CORE-004", "tester", rerun, null, Ct);

        Assert.True(duplicate);
        Assert.Equal(first.ConsultationId, returned.ConsultationId);
        Assert.Equal(1, await spoke.ScalarAsync("SELECT COUNT(*) FROM outbox"));
    }

    [Fact]
    public async Task DueAfterAnEntry_LeavesOutThoseUpToIt_WhichAreStillPending()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        for (var i = 0; i < 3; i++)
        {
            await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission($"P-{i}"), null, Ct);
        }
        var all = await spoke.Outbox.DueAsync(10, Ct);

        var after = await spoke.Outbox.DueAsync(10, all[0].OutboxId, Ct);

        Assert.Equal(all.Skip(1).Select(e => e.OutboxId), after.Select(e => e.OutboxId));
        Assert.Equal(3, all.Count);
    }

    [Fact]
    public async Task Status_OldestPending_IsTheFirstQueuedEntryNotYetDelivered()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        foreach (var patient in new[] { "P-1", "P-2", "P-3" })
        {
            await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(patient), null, Ct);
        }
        var due = await spoke.Outbox.DueAsync(10, Ct);
        await spoke.Outbox.MarkDeliveredAsync([due[0]], Ct);
        DateTimeOffset secondQueued;
        await using (var connection = await spoke.Database.OpenAsync(Ct))
        await using (var created = connection.Command("SELECT created_at FROM outbox WHERE outbox_id = $id").With("$id", due[1].OutboxId))
        {
            secondQueued = DateTimeOffset.Parse((string)(await created.ExecuteScalarAsync(Ct))!, System.Globalization.CultureInfo.InvariantCulture);
        }

        var status = await spoke.Outbox.StatusAsync(Ct);

        Assert.Equal(2, status.Pending);
        Assert.Equal(secondQueued, status.OldestPendingAt);
    }

    /// <summary>
    /// The outbox keeps every delivered entry, so its status (reported every 30 seconds) must not read the whole table: each
    /// part reads an index of the entries it is about. Checked in SQLite's plan for the node's own schema.
    /// </summary>
    [Theory]
    [InlineData(OutboxStore.StatusCountsSql)]
    [InlineData(OutboxStore.ParkedSql)]
    public async Task Status_ReadsOnlyIndexesOfTheEntriesItCounts(string statement)
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        await using var connection = await spoke.Database.OpenAsync(Ct);
        var steps = await QueryPlans.StepsAsync(connection, statement, Ct);

        var readsOfTheOutbox = steps.Where(step => step.Contains("outbox", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(readsOfTheOutbox);
        Assert.All(readsOfTheOutbox, step => Assert.Contains("USING", step, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailedEntry_WaitsForItsNextAttempt_WithoutHoldingBackOtherRecords()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var poison = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission("P-1"), null, Ct)).Consultation.ConsultationId;
        var later = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission("P-2"), null, Ct)).Consultation.ConsultationId;
        var due = await spoke.Outbox.DueAsync(10, Ct);

        var parked = await spoke.Outbox.RecordFailureAsync([due[0]], "Internal: boom", TimeSpan.FromHours(1), parkAfterAttempts: 5, Ct);

        Assert.False(parked);
        Assert.Equal([later], (await spoke.Outbox.DueAsync(10, Ct)).Select(e => e.AggregateId));
        Assert.Equal(DeliveryState.Pending, (await spoke.Store.GetAsync(poison, Ct)).DeliveryState);
    }

    [Fact]
    public async Task EntryFailingRepeatedly_IsParkedWithItsReason_AndResentOnRequest()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        var id = (await spoke.Store.SubmitAsync("CORE-004", "t", SpokeStoreFixture.Submission(), null, Ct)).Consultation.ConsultationId;
        var entry = Assert.Single(await spoke.Outbox.DueAsync(10, Ct));

        Assert.True(await spoke.Outbox.RecordFailureAsync([entry], "Internal: boom", TimeSpan.Zero, parkAfterAttempts: 1, Ct));

        Assert.Empty(await spoke.Outbox.DueAsync(10, Ct));
        var consultation = await spoke.Store.GetAsync(id, Ct);
        Assert.Equal((DeliveryState.Parked, "Internal: boom"), (consultation.DeliveryState, consultation.DeliveryError));
        var status = await spoke.Outbox.StatusAsync(Ct);
        Assert.Equal((id, "Internal: boom"), (Assert.Single(status.Parked).AggregateId, status.Parked[0].Reason));

        Assert.Equal(1, await spoke.Outbox.ResendParkedAsync(null, Ct));
        Assert.Equal(id, Assert.Single(await spoke.Outbox.DueAsync(10, Ct)).AggregateId);
        Assert.Equal(DeliveryState.Pending, (await spoke.Store.GetAsync(id, Ct)).DeliveryState);
    }

    [Fact]
    public async Task ParkedEntry_HoldsBackLaterEntriesOfItsOwnOrderingKeyOnly()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        await using (var connection = await spoke.Database.OpenAsync(Ct))
        await using (var transaction = connection.BeginTransaction())
        {
            foreach (var (kind, key) in new[] { ("forward_audit", "audit"), ("forward_audit", "audit"), ("deliver_consultation", "consultation:x") })
            {
                await OutboxStore.EnqueueAsync(connection, transaction, kind, key, key, [], DateTimeOffset.UtcNow, Ct);
            }
            await transaction.CommitAsync(Ct);
        }
        var due = await spoke.Outbox.DueAsync(10, Ct);
        Assert.Equal(3, due.Count);

        await spoke.Outbox.RecordFailureAsync([due[0]], "Internal: boom", TimeSpan.Zero, parkAfterAttempts: 1, Ct);

        Assert.Equal(["consultation:x"], (await spoke.Outbox.DueAsync(10, Ct)).Select(e => e.OrderingKey));
    }
}
