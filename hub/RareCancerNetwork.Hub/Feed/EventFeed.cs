using System.Collections.Concurrent;
using System.Data.Common;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Feed;

/// <summary>
/// The ordered per-spoke event feed. Events are appended in the same transaction as the change they
/// describe. Each spoke's sequence is a counter row in the store (<c>spoke_feed_heads</c>), so every
/// writer, in any hub instance, takes the next number only after the previous one committed: a
/// subscriber that has read sequence n never later finds an n-1 committed behind it. Subscribers are
/// woken after commit: in this process directly, in other instances by the store's notifications.
/// </summary>
public sealed class EventFeed(HubDatabase database)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new();

    public static async Task AppendAsync(DbConnection connection, DbTransaction transaction, string nodeId, string consultationId,
        DateTimeOffset occurredAt, SubscribeEventsResponse @event, CancellationToken cancellationToken)
    {
        @event.ConsultationId = consultationId;
        @event.OccurredAt = Timestamp.FromDateTimeOffset(occurredAt);
        @event.Sequence = 0;
        long sequence;
        await using (var next = connection.Command(
            """
            INSERT INTO spoke_feed_heads (spoke_node_id, last_sequence) VALUES (@node, 1)
            ON CONFLICT (spoke_node_id) DO UPDATE SET last_sequence = spoke_feed_heads.last_sequence + 1
            RETURNING last_sequence
            """, transaction).With("@node", nodeId))
        {
            sequence = await next.ScalarInt64Async(cancellationToken);
        }
        await using var insert = connection.Command(
            "INSERT INTO spoke_events (spoke_node_id, sequence, consultation_id, occurred_at, payload) VALUES (@node, @sequence, @id, @at, @payload)", transaction)
            .With("@node", nodeId).With("@sequence", sequence).With("@id", consultationId).With("@at", occurredAt.ToDbText()).With("@payload", @event.ToByteArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public static Task AppendStatusAsync(DbConnection connection, DbTransaction transaction, string nodeId, string consultationId,
        DateTimeOffset occurredAt, ConsultationStatus status, CancellationToken cancellationToken) =>
        AppendAsync(connection, transaction, nodeId, consultationId, occurredAt,
            new SubscribeEventsResponse { StatusChanged = new ConsultationStatusChanged { Status = status } }, cancellationToken);

    public async Task<IReadOnlyList<SubscribeEventsResponse>> ReadAfterAsync(string nodeId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT sequence, payload FROM spoke_events WHERE spoke_node_id = @node AND sequence > @after ORDER BY sequence LIMIT @limit")
            .With("@node", nodeId).With("@after", afterSequence).With("@limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<SubscribeEventsResponse>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var @event = SubscribeEventsResponse.Parser.ParseFrom((byte[])reader[1]);
            @event.Sequence = reader.GetInt64(0);
            events.Add(@event);
        }
        return events;
    }

    /// <summary>The sequence of the latest event in a node's feed (0 when it has none).</summary>
    public async Task<long> HeadAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COALESCE(MAX(last_sequence), 0) FROM spoke_feed_heads WHERE spoke_node_id = @node").With("@node", nodeId);
        return await command.ScalarInt64Async(cancellationToken);
    }

    /// <summary>A task that completes at the next <see cref="Notify"/> for the node. Take it before reading, so no event slips between.</summary>
    public Task NextChangeAsync(string nodeId) =>
        _waiters.GetOrAdd(nodeId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(IEnumerable<string> nodeIds)
    {
        foreach (var nodeId in nodeIds.Distinct())
        {
            if (_waiters.TryRemove(nodeId, out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }

    /// <summary>Every subscriber reads again (after notifications may have been missed).</summary>
    public void WakeAll() => Notify(_waiters.Keys.ToList());
}
