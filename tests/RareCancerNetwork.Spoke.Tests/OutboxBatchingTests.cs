using RareCancerNetwork.Spoke.Outbox;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>Registry batches sent together never share a record: each record's versions stay in one batch, in order.</summary>
public sealed class OutboxBatchingTests
{
    private static OutboxEntry Entry(long id, string record) => new(id, "deliver_registry_record", record, $"registry:{record}", [], 0);

    [Fact]
    public void DisjointBatches_KeepEachRecordsVersionsTogetherAndInOrder_WithinTheSize()
    {
        List<OutboxEntry> entries = [Entry(1, "a"), Entry(2, "b"), Entry(3, "a"), Entry(4, "c"), Entry(5, "a"), Entry(6, "c"), Entry(7, "d")];

        var batches = OutboxDeliveryWorker.DisjointBatches(entries, 3).ToList();

        Assert.Equal([[1L, 3L, 5L], [2L, 4L, 6L], [7L]], batches.Select(b => b.Select(e => e.OutboxId).ToList()));
        Assert.All(batches, b => Assert.True(b.Count <= 3));
        var keysPerBatch = batches.Select(b => b.Select(e => e.OrderingKey).ToHashSet()).ToList();
        Assert.Equal(keysPerBatch.Sum(k => k.Count), keysPerBatch.SelectMany(k => k).Distinct().Count());
    }

    [Fact]
    public void DisjointBatches_ARecordWithMoreVersionsThanABatch_SendsItsOldestAndLeavesTheRestForTheNextPass()
    {
        List<OutboxEntry> entries = [.. Enumerable.Range(1, 5).Select(i => Entry(i, "a")), Entry(6, "b")];

        var batches = OutboxDeliveryWorker.DisjointBatches(entries, 3).ToList();

        Assert.Equal([[1L, 2L, 3L], [6L]], batches.Select(b => b.Select(e => e.OutboxId).ToList()));
    }

    [Fact]
    public void APass_NeverLetsALaterKindOfAnOrderingKeyOvertakeItsOlderKind()
    {
        // A change to referral y queued before referral x was created, then a change to x: the change to x waits a pass.
        List<OutboxEntry> due =
        [
            new(1, "referral_transition", "t-y", "referral:y", [], 0),
            new(2, "deliver_referral", "x", "referral:x", [], 0),
            new(3, "referral_transition", "t-x", "referral:x", [], 0),
            new(4, "forward_audit", "9", "audit", [], 0),
        ];

        var pass = OutboxDeliveryWorker.ThisPass(due).ToList();

        Assert.Equal([1L, 2L, 4L], pass.Select(e => e.OutboxId));
        Assert.Equal([3L], OutboxDeliveryWorker.ThisPass(due.Where(e => e.OutboxId != 2).ToList()).Where(e => e.OrderingKey == "referral:x").Select(e => e.OutboxId));
    }

    [Fact]
    public void WhileBatchesAreInFlight_NeitherTheirEntriesNorLaterVersionsOfTheirRecordsAreSentAgain()
    {
        // Record a's first version and b's are in flight; a's second version was queued after them.
        List<OutboxEntry> due = [Entry(1, "a"), Entry(2, "b"), Entry(3, "c"), Entry(4, "a"), Entry(5, "d")];

        var sendable = OutboxDeliveryWorker.Sendable(due, new HashSet<string> { "registry:a", "registry:b" });

        Assert.Equal([3L, 5L], sendable.Select(e => e.OutboxId));
    }

    [Fact]
    public void TheNextRead_StartsBeforeTheOldestEntryLeftBehind_OrAfterTheLastOneRead()
    {
        List<OutboxEntry> due = [Entry(10, "a"), Entry(11, "b"), Entry(12, "c"), Entry(13, "a"), Entry(14, "d")];
        var inFlight = new HashSet<long> { 10, 11 };

        // a's second version (13) waited behind its first: it is read again, and what was started after it with it.
        Assert.Equal(12L, OutboxDeliveryWorker.NextReadAfter(due, inFlight, new HashSet<long> { 12, 14 }));
        // Everything read is in flight or started: the next read finds only newer entries.
        Assert.Equal(14L, OutboxDeliveryWorker.NextReadAfter(due, inFlight, new HashSet<long> { 12, 13, 14 }));
        Assert.Equal(14L, OutboxDeliveryWorker.NextReadAfter(due, due.Select(e => e.OutboxId).ToHashSet(), new HashSet<long>()));
    }
}
