using System.Data.Common;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// A consultation's timeline: each step recorded in the transaction that makes it, and sent to the requesting
/// spoke through its feed, so that both ends hold every step in the same order.
/// </summary>
internal static class ConsultationTimeline
{
    public const string HubActor = "hub";

    public static async Task AppendAsync(DbConnection connection, DbTransaction transaction, string nodeId, string consultationId, ConsultationStep step,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using (var next = connection.Command("SELECT COALESCE(MAX(sequence), 0) + 1 FROM consultation_steps WHERE consultation_id = @id", transaction)
            .With("@id", consultationId))
        {
            step.Sequence = (int)await next.ScalarInt64Async(cancellationToken);
        }
        step.OccurredAt ??= Timestamp.FromDateTimeOffset(now);
        await using (var insert = connection.Command(
            "INSERT INTO consultation_steps (consultation_id, sequence, kind, occurred_at, step) VALUES (@id, @sequence, @kind, @at, @step)", transaction)
            .With("@id", consultationId).With("@sequence", step.Sequence).With("@kind", (int)step.Kind).With("@at", step.OccurredAt.ToDateTimeOffset().ToDbText())
            .With("@step", step.ToByteArray()))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await EventFeed.AppendAsync(connection, transaction, nodeId, consultationId, now, new SubscribeEventsResponse { StepRecorded = step }, cancellationToken);
    }

    public static async Task<List<ConsultationStep>> ReadAsync(DbConnection connection, DbTransaction? transaction, string consultationId, CancellationToken cancellationToken)
    {
        var steps = new List<ConsultationStep>();
        await using var command = connection.Command("SELECT step FROM consultation_steps WHERE consultation_id = @id ORDER BY sequence", transaction).With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(ConsultationStep.Parser.ParseFrom((byte[])reader[0]));
        }
        return steps;
    }

    /// <summary>
    /// Tells every waiting consultation of the organ system whose place in the queue changed (and one that left it) its
    /// new place, through its spoke's feed. Called wherever a queue loses a case or gains one ahead of others (O(queue)); a case
    /// joining at the back takes <see cref="JoinQueueAsync"/>.
    /// Returns every waiting case's place, and the spokes told of a change (to wake after commit).
    /// </summary>
    public static async Task<(IReadOnlyDictionary<string, int> Places, IReadOnlyList<string> Told)> RefreshQueueAsync(DbConnection connection, DbTransaction transaction, OrganSystem organ, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var places = new List<(string Id, string NodeId, int Announced, int Position)>();
        await using (var waiting = connection.Command(
            """
            SELECT consultation_id, spoke_node_id, announced_queue_position FROM consultations
            WHERE status = 2 AND organ_system = @organ ORDER BY urgency DESC, received_at, consultation_id
            """, transaction).With("@organ", (int)organ))
        await using (var reader = await waiting.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                places.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), places.Count + 1));
            }
        }
        await using (var left = connection.Command(
            "SELECT consultation_id, spoke_node_id, announced_queue_position FROM consultations WHERE announced_queue_position > 0 AND status <> 2 AND organ_system = @organ",
            transaction).With("@organ", (int)organ))
        await using (var reader = await left.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                places.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), 0));
            }
        }
        var told = new List<string>();
        foreach (var (id, nodeId, announced, position) in places.Where(p => p.Announced != p.Position))
        {
            told.Add(nodeId);
            await using (var update = connection.Command("UPDATE consultations SET announced_queue_position = @position WHERE consultation_id = @id", transaction)
                .With("@position", position).With("@id", id))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            await EventFeed.AppendAsync(connection, transaction, nodeId, id, now,
                new SubscribeEventsResponse { QueuePositionChanged = new QueuePositionChanged { Position = position } }, cancellationToken);
        }
        return (places.Where(p => p.Position > 0).ToDictionary(p => p.Id, p => p.Position), told.Distinct().ToList());
    }

    /// <summary>
    /// A case that starts waiting, and its place. At the back of its queue (the usual case: a routine case, or an urgent one
    /// behind other urgent ones) nobody else moves, so only it is told, after one backward seek along the queue's index:
    /// intake stays quick however long the queue. Ahead of others (an urgent case passing routine ones), everyone behind it moves
    /// and the whole queue is refreshed.
    /// </summary>
    public static async Task<int> JoinQueueAsync(DbConnection connection, DbTransaction transaction, string consultationId, string nodeId, OrganSystem organ,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The last two of the queue, read backwards along its index: the newcomer should be the last, and the one before it
        // knows its own place (every waiting case's announced place is kept current).
        var lastTwo = new List<(string Id, int Announced)>();
        await using (var tail = connection.Command(
            """
            SELECT consultation_id, announced_queue_position FROM consultations
            WHERE status = 2 AND organ_system = @organ ORDER BY urgency, received_at DESC, consultation_id DESC LIMIT 2
            """, transaction).With("@organ", (int)organ))
        await using (var reader = await tail.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                lastTwo.Add((reader.GetString(0), reader.GetInt32(1)));
            }
        }
        if (lastTwo.Count == 0 || lastTwo[0].Id != consultationId || (lastTwo.Count == 2 && lastTwo[1].Announced == 0))
        {
            var (places, _) = await RefreshQueueAsync(connection, transaction, organ, now, cancellationToken);
            return places[consultationId];
        }
        var place = lastTwo.Count == 2 ? lastTwo[1].Announced + 1 : 1;
        await using (var update = connection.Command("UPDATE consultations SET announced_queue_position = @position WHERE consultation_id = @id", transaction)
            .With("@position", place).With("@id", consultationId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await EventFeed.AppendAsync(connection, transaction, nodeId, consultationId, now,
            new SubscribeEventsResponse { QueuePositionChanged = new QueuePositionChanged { Position = place } }, cancellationToken);
        return place;
    }

    /// <summary>The same, for the organ system of one consultation.</summary>
    public static async Task<IReadOnlyList<string>> RefreshQueueOfAsync(DbConnection connection, DbTransaction transaction, string consultationId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var organ = connection.Command("SELECT organ_system FROM consultations WHERE consultation_id = @id", transaction).With("@id", consultationId);
        return (await RefreshQueueAsync(connection, transaction, (OrganSystem)(int)await organ.ScalarInt64Async(cancellationToken), now, cancellationToken)).Told;
    }

    /// <summary>Why nobody took it: no expert of its organ system, or all of them at capacity (or having declined it).</summary>
    public static async Task<string> WaitingReasonAsync(DbConnection connection, DbTransaction transaction, OrganSystem organ, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            "SELECT COUNT(*) FROM expert_specialties s JOIN experts e ON e.expert_id = s.expert_id WHERE s.organ_system = @organ AND e.active = 1", transaction)
            .With("@organ", (int)organ);
        var experts = await command.ScalarInt64Async(cancellationToken);
        var name = Node.CommandLine.ProtoEnumNames.Name(organ);
        return experts == 0
            ? $"no active expert of {name} is registered; the hub's administrators are told"
            : $"all {experts} active expert(s) of {name} are at capacity or have declined it";
    }

    public static ConsultationStep Step(ConsultationStepKind kind, ConsultationStatus status, string actor, string expertId = "", string detail = "") =>
        new() { Kind = kind, Status = status, Actor = actor, ExpertId = expertId, Detail = detail };
}
