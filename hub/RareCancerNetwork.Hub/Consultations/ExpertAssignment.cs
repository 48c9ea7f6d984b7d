using System.Data.Common;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Assigns consultations to an active expert whose specialty matches the organ system, least loaded
/// first, only below capacity. Each expert's open cases are kept current in <c>experts.open_cases</c>,
/// so every step costs the same whatever the backlog:
/// <list type="bullet">
/// <item>a new consultation is offered to the experts of its organ system only;</item>
/// <item>when an expert's capacity frees (a report, a registration), the expert takes the most urgent,
/// oldest waiting case of their specialties: one indexed look-up per specialty.</item>
/// </list>
/// A case waits in RECEIVED only while every expert of its organ system is at capacity, so a backlog in
/// one organ system never slows intake in the others.
/// </summary>
internal static class ExpertAssignment
{
    /// <summary>Offers one newly received consultation to the experts of its organ system.</summary>
    /// <returns>Whether it was assigned.</returns>
    public static async Task<bool> TryAssignAsync(DbConnection connection, DbTransaction transaction, string consultationId, string nodeId,
        OrganSystem organSystem, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string? expertId;
        await using (var pick = connection.Command(
            """
            SELECT e.expert_id FROM expert_specialties s JOIN experts e ON e.expert_id = s.expert_id
            WHERE s.organ_system = @organ AND e.active = 1 AND e.open_cases < e.capacity
              AND NOT EXISTS (SELECT 1 FROM consultation_declines d WHERE d.consultation_id = @id AND d.expert_id = e.expert_id)
            ORDER BY e.open_cases, e.expert_id LIMIT 1
            """, transaction).With("@organ", (int)organSystem).With("@id", consultationId))
        {
            expertId = await pick.ExecuteScalarAsync(cancellationToken) as string;
        }
        if (expertId is null)
        {
            // Nobody can take it now: it waits, and its requester sees that and its place in the queue.
            var place = await ConsultationTimeline.JoinQueueAsync(connection, transaction, consultationId, nodeId, organSystem, now, cancellationToken);
            var step = ConsultationTimeline.Step(ConsultationStepKind.WaitingForExpert, ConsultationStatus.Received, ConsultationTimeline.HubActor,
                detail: await ConsultationTimeline.WaitingReasonAsync(connection, transaction, organSystem, cancellationToken));
            step.QueuePosition = place;
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, consultationId, step, now, cancellationToken);
            return false;
        }
        await AssignAsync(connection, transaction, consultationId, nodeId, expertId, now, cancellationToken);
        return true;
    }

    /// <summary>One of the expert's open cases ended (reported, withdrawn): their load goes down by one.</summary>
    public static async Task ReleaseAsync(DbConnection connection, DbTransaction transaction, string expertId, CancellationToken cancellationToken)
    {
        await using var release = connection.Command("UPDATE experts SET open_cases = open_cases - 1 WHERE expert_id = @expert AND open_cases > 0", transaction)
            .With("@expert", expertId);
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Gives the expert waiting cases of their specialties until they are at capacity.</summary>
    /// <returns>The spoke nodes whose feeds received events.</returns>
    public static async Task<IReadOnlyList<string>> FillAsync(DbConnection connection, DbTransaction transaction, string expertId,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var specialties = new List<int>();
        int spare;
        await using (var expert = connection.Command(
            "SELECT e.capacity - e.open_cases, s.organ_system FROM experts e JOIN expert_specialties s ON s.expert_id = e.expert_id WHERE e.expert_id = @expert AND e.active = 1",
            transaction).With("@expert", expertId))
        await using (var reader = await expert.ExecuteReaderAsync(cancellationToken))
        {
            spare = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                spare = reader.GetInt32(0);
                specialties.Add(reader.GetInt32(1));
            }
        }
        var notified = new List<string>();
        for (; spare > 0; spare--)
        {
            // The head of each specialty's queue (index seek), then the most urgent, oldest of those heads.
            var heads = new List<(string Id, string NodeId, int Urgency, string ReceivedAt)>();
            foreach (var organ in specialties)
            {
                await using var head = connection.Command(
                    """
                    SELECT consultation_id, spoke_node_id, urgency, received_at FROM consultations
                    WHERE status = 2 AND organ_system = @organ
                      AND NOT EXISTS (SELECT 1 FROM consultation_declines d WHERE d.consultation_id = consultations.consultation_id AND d.expert_id = @expert)
                    ORDER BY urgency DESC, received_at, consultation_id LIMIT 1
                    """, transaction).With("@organ", organ).With("@expert", expertId);
                await using var reader = await head.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    heads.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3)));
                }
            }
            if (heads.Count == 0)
            {
                break;
            }
            var next = heads.OrderByDescending(h => h.Urgency).ThenBy(h => h.ReceivedAt, StringComparer.Ordinal).ThenBy(h => h.Id, StringComparer.Ordinal).First();
            await AssignAsync(connection, transaction, next.Id, next.NodeId, expertId, now, cancellationToken);
            notified.Add(next.NodeId);
        }
        return notified;
    }

    public static async Task AssignAsync(DbConnection connection, DbTransaction transaction, string consultationId, string nodeId, string expertId,
        DateTimeOffset now, CancellationToken cancellationToken, string actor = ConsultationTimeline.HubActor, ConsultationStepKind kind = ConsultationStepKind.Assigned,
        string detail = "")
    {
        await using (var update = connection.Command(
            "UPDATE consultations SET status = @status, assigned_expert_id = @expert, assigned_at = @now, updated_at = @now WHERE consultation_id = @id", transaction)
            .With("@status", (int)ConsultationStatus.Assigned).With("@expert", expertId).With("@now", now.ToDbText()).With("@id", consultationId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var load = connection.Command("UPDATE experts SET open_cases = open_cases + 1 WHERE expert_id = @expert", transaction).With("@expert", expertId))
        {
            await load.ExecuteNonQueryAsync(cancellationToken);
        }
        await EventFeed.AppendStatusAsync(connection, transaction, nodeId, consultationId, now, ConsultationStatus.Assigned, cancellationToken);
        await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, consultationId,
            ConsultationTimeline.Step(kind, ConsultationStatus.Assigned, actor, expertId, detail), now, cancellationToken);
        // Taken from a queue: the cases behind it move up. (A case assigned as it arrives never had a place: nobody moves.)
        await using var waited = connection.Command("SELECT announced_queue_position FROM consultations WHERE consultation_id = @id", transaction)
            .With("@id", consultationId);
        if (await waited.ScalarInt64Async(cancellationToken) > 0)
        {
            await ConsultationTimeline.RefreshQueueOfAsync(connection, transaction, consultationId, now, cancellationToken);
        }
    }
}
