using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>How the node's contact with the hub stands, as its status report last found it.</summary>
public sealed record HubContact(DateTimeOffset? LastContactAt, long HubFeedHead, long FeedCursor, int HubContractVersion, DateTimeOffset? LastFailureAt,
    string? LastFailure)
{
    /// <summary>Events of the node's feed at the hub it has not applied yet (as of the last contact).</summary>
    public long FeedLag => Math.Max(0, HubFeedHead - FeedCursor);

    /// <summary>Whether the last attempt failed after the last success (the hub unreachable, or refusing this version, now).</summary>
    public bool Failing => LastFailureAt is { } failed && (LastContactAt is not { } contact || failed > contact);
}

/// <summary>The node's record of its contact with the hub (one row).</summary>
public sealed class HubContactStore(SpokeDatabase database, TimeProvider clock)
{
    public async Task RecordContactAsync(long hubFeedHead, int hubContractVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("UPDATE hub_contact SET last_contact_at = @now, hub_feed_head = @head, hub_contract = @contract WHERE id = 1")
            .With("@now", clock.GetUtcNow().ToDbText()).With("@head", hubFeedHead).With("@contract", hubContractVersion);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <param name="failure">What went wrong, for operators: a status and the hub's message (never request content).</param>
    public async Task RecordFailureAsync(string failure, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("UPDATE hub_contact SET last_failure_at = @now, last_failure = @failure WHERE id = 1")
            .With("@now", clock.GetUtcNow().ToDbText()).With("@failure", failure);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<HubContact> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT last_contact_at, hub_feed_head, hub_contract, last_failure_at, last_failure, (SELECT after_sequence FROM feed_cursor WHERE id = 1) FROM hub_contact WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new HubContact(reader.GetNullableInstant(0), reader.GetInt64(1), reader.GetInt64(5), reader.GetInt32(2), reader.GetNullableInstant(3), reader.GetNullableString(4));
    }
}
