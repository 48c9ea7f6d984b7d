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
}
