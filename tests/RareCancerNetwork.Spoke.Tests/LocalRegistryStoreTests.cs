using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Registry;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Spoke.Tests;

public sealed class LocalRegistryStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The content hash kept with each record (which tells a repeated enrolment from a different one) is SHA-256 over the
    /// local patient id, a zero byte and the record without who changed it and when. Spokes hold hashes made this way, so
    /// the way is fixed; and the record stored keeps its stamp.
    /// </summary>
    [Fact]
    public async Task ContentHash_IsOfThePatientAndTheRecordWithoutItsStamp()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        using var signal = new OutboxSignal();
        var registry = new LocalRegistryStore(spoke.Database, spoke.Pseudonymizer, signal, TimeProvider.System);

        var created = (await registry.CreateAsync("CORE-004", "入力担当", "P-HASH", RegistrySamples.Record(), Ct)).Record;

        var content = created.Record.Clone();
        content.UpdatedBy = "";
        content.UpdatedAt = null;
        var expected = Convert.ToHexStringLower(SHA256.HashData([.. System.Text.Encoding.UTF8.GetBytes("P-HASH"), 0, .. content.ToByteArray()]));
        await using var connection = await spoke.Database.OpenAsync(Ct);
        await using var stored = connection.Command("SELECT content_sha256 FROM registry_records WHERE record_id = $id").With("$id", created.Record.RecordId);
        Assert.Equal(expected, (string?)await stored.ExecuteScalarAsync(Ct));
        Assert.Equal("入力担当", created.Record.UpdatedBy);
        Assert.NotNull(created.Record.UpdatedAt);
    }

    /// <summary>
    /// A registry version is kept once at the spoke: its outbox entry names the history row and holds no copy, and what
    /// delivery sends is that row's bytes — each version its own, in order. An entry queued with its own payload (before
    /// entries named their row) is still sent as it was queued.
    /// </summary>
    [Fact]
    public async Task RegistryOutboxEntries_SendTheirHistoryRowsBytes_WithoutACopyOfTheirOwn()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync();
        using var signal = new OutboxSignal();
        var registry = new LocalRegistryStore(spoke.Database, spoke.Pseudonymizer, signal, TimeProvider.System);
        var first = (await registry.CreateAsync("CORE-004", "入力担当", "P-ONCE", RegistrySamples.Record(), Ct)).Record.Record;
        var change = first.Clone();
        change.Version = 2;
        change.Ecog = 2;
        var second = (await registry.UpdateAsync("入力担当", change, Ct)).Record;
        var earlier = RegistrySamples.Record();
        earlier.RecordId = Guid.CreateVersion7().ToString();
        await using (var connection = await spoke.Database.OpenAsync(Ct))
        await using (var queuedBefore = connection.Command(
            "INSERT INTO outbox (kind, aggregate_id, ordering_key, payload, created_at) VALUES ($kind, $id, $key, $payload, '2026-11-01T00:00:00.0000000Z')")
            .With("$kind", LocalRegistryStore.DeliverKind).With("$id", earlier.RecordId).With("$key", LocalRegistryStore.OrderingKey(earlier.RecordId))
            .With("$payload", earlier.ToByteArray()))
        {
            await queuedBefore.ExecuteNonQueryAsync(Ct);
        }

        var due = (await spoke.Outbox.DueAsync(10, Ct)).Where(e => e.Kind == LocalRegistryStore.DeliverKind).ToList();

        Assert.Equal([first.ToByteArray(), second.ToByteArray(), earlier.ToByteArray()], due.Select(e => e.Payload));
        await using var check = await spoke.Database.OpenAsync(Ct);
        await using var copies = check.Command("SELECT COUNT(*) FROM outbox WHERE aggregate_id = $id AND length(payload) > 0").With("$id", first.RecordId);
        Assert.Equal(0, await copies.ScalarInt64Async(Ct));
    }

    /// <summary>
    /// A store from before a record's bytes were kept once (its row held them too) reads, after the migration, each record's
    /// latest history entry — the bytes its row held — and later versions continue that history.
    /// </summary>
    [Fact]
    public async Task StoreFromBeforeBytesWereKeptOnce_ReadsEachRecordsLatestHistoryEntry()
    {
        await using var spoke = await SpokeStoreFixture.CreateAsync(targetVersion: 22);
        var first = RegistrySamples.Record();
        var second = first.Clone();
        second.Version = 2;
        second.Ecog = 3;
        await using (var connection = await spoke.Database.OpenAsync(Ct))
        {
            await using (var row = connection.Command(
                """
                INSERT INTO registry_records (record_id, local_patient_id, version, record, content_sha256, natural_key, sync_state, updated_at)
                VALUES ($id, 'P-OLD', 2, $record, 'hash', 'key', 2, '2026-11-01T00:00:00.0000000Z')
                """).With("$id", first.RecordId).With("$record", second.ToByteArray()))
            {
                await row.ExecuteNonQueryAsync(Ct);
            }
            foreach (var (entry, version) in new[] { (1, first), (2, second) })
            {
                await using var history = connection.Command(
                    "INSERT INTO registry_record_versions (record_id, entry, version, origin, record) VALUES ($id, $entry, $version, 'spoke', $record)")
                    .With("$id", first.RecordId).With("$entry", entry).With("$version", version.Version).With("$record", version.ToByteArray());
                await history.ExecuteNonQueryAsync(Ct);
            }
        }
        await spoke.Database.Database.MigrateAsync(Ct);
        using var signal = new OutboxSignal();
        var registry = new LocalRegistryStore(spoke.Database, spoke.Pseudonymizer, signal, TimeProvider.System);

        Assert.Equal(second.ToByteArray(), (await registry.GetAsync(first.RecordId, Ct)).Record.ToByteArray());
        var third = second.Clone();
        third.Version = 3;
        third.Ecog = 1;
        var updated = await registry.UpdateAsync("入力担当", third, Ct);
        Assert.Equal(3, updated.Record.Version);
        Assert.Equal(1, updated.Record.Ecog);
        Assert.Equal([first.Ecog, 3, 1], (await registry.VersionsAsync(first.RecordId, Ct)).Select(v => v.Ecog));
    }
}
