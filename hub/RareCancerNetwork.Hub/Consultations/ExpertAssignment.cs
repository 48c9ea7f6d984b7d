using Microsoft.Data.Sqlite;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Assigns waiting consultations to an active expert whose specialty matches the organ system,
/// least loaded first (open cases), only below capacity. Urgent and older cases go first; a case
/// no expert can take waits in RECEIVED until capacity frees or an expert is registered.
/// </summary>
internal static class ExpertAssignment
{
    private const string OpenStatuses = "(3, 4)"; // ASSIGNED, INFORMATION_REQUESTED

    /// <returns>The spoke nodes whose feeds received events.</returns>
    public static async Task<IReadOnlyList<string>> AssignWaitingAsync(SqliteConnection connection, SqliteTransaction transaction,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var waiting = new List<(string Id, string NodeId, int OrganSystem)>();
        await using (var command = connection.Command(
            $"SELECT consultation_id, spoke_node_id, organ_system FROM consultations WHERE status = {(int)ConsultationStatus.Received} ORDER BY urgency DESC, received_at, consultation_id",
            transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                waiting.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }
        var notified = new List<string>();
        foreach (var consultation in waiting)
        {
            await using var pick = connection.Command(
                $"""
                SELECT e.expert_id FROM experts e
                JOIN expert_specialties s ON s.expert_id = e.expert_id AND s.organ_system = $organ
                LEFT JOIN (SELECT assigned_expert_id, COUNT(*) AS open_cases FROM consultations WHERE status IN {OpenStatuses} GROUP BY assigned_expert_id) l
                  ON l.assigned_expert_id = e.expert_id
                WHERE e.active = 1 AND COALESCE(l.open_cases, 0) < e.capacity
                ORDER BY COALESCE(l.open_cases, 0), e.expert_id
                LIMIT 1
                """, transaction).With("$organ", consultation.OrganSystem);
            if (await pick.ExecuteScalarAsync(cancellationToken) is not string expertId)
            {
                continue;
            }
            await using var update = connection.Command(
                "UPDATE consultations SET status = $status, assigned_expert_id = $expert, assigned_at = $now, updated_at = $now WHERE consultation_id = $id", transaction)
                .With("$status", (int)ConsultationStatus.Assigned).With("$expert", expertId).With("$now", now.ToDbText()).With("$id", consultation.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
            await EventFeed.AppendStatusAsync(connection, transaction, consultation.NodeId, consultation.Id, now, ConsultationStatus.Assigned, cancellationToken);
            notified.Add(consultation.NodeId);
        }
        return notified;
    }
}
