using System.Data.Common;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>A consultation that waits for an expert, as administrators see it.</summary>
public sealed record WaitingConsultation(string ConsultationId, string FacilityCode, OrganSystem OrganSystem, Urgency Urgency, DateTimeOffset ReceivedAt,
    int QueuePosition, int Declines);

/// <summary>
/// Declines and reassignments: an expert declines with a reason and the case goes to the next expert of its organ
/// system who has not declined it, or waits; an administrator moves a case by hand; and the consultations waiting for
/// an expert are listed with their age, so that a person acts before a patient waits weeks.
/// </summary>
public sealed partial class ConsultationStore
{
    public async Task<string?> DeclineAsync(string expertId, DeclineConsultationRequest request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (next, nodeId) = await database.WriteAsync(async (connection, transaction) =>
        {
            var (nodeId, status, assigned, organ) = await ReadForReassignmentAsync(connection, transaction, request.ConsultationId, cancellationToken);
            if (assigned != expertId)
            {
                throw new AccessDeniedException($"Consultation {request.ConsultationId} is not assigned to you.");
            }
            if (status is not (ConsultationStatus.Assigned or ConsultationStatus.InformationRequested))
            {
                throw new PreconditionFailedException("NOT_DECLINABLE", $"Consultation {request.ConsultationId} is {StatusName(status)}: only a case not yet reported can be declined.");
            }
            await using (var insert = connection.Command(
                "INSERT INTO consultation_declines (consultation_id, expert_id, reason, comment, declined_at) VALUES (@id, @expert, @reason, @comment, @now)", transaction)
                .With("@id", request.ConsultationId).With("@expert", expertId).With("@reason", (int)request.Reason).With("@comment", request.Comment).With("@now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            var next = await UnassignAndOfferAsync(connection, transaction, request.ConsultationId, nodeId, expertId, organ, now,
                ConsultationTimeline.Step(ConsultationStepKind.Declined, ConsultationStatus.Received, expertId, expertId,
                    ProtoEnumNames.Name(request.Reason) + (request.Comment.Length > 0 ? $": {request.Comment}" : "")), cancellationToken);
            return (next, nodeId);
        }, cancellationToken);
        feed.Notify([nodeId]);
        return next;
    }

    /// <summary>An administrator moves a case (not yet reported) to an expert of their choosing, declined before or not.</summary>
    public async Task ReassignAsync(string consultationId, string toExpertId, string administrator, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var nodeId = await database.WriteAsync(async (connection, transaction) =>
        {
            var (nodeId, status, assigned, _) = await ReadForReassignmentAsync(connection, transaction, consultationId, cancellationToken);
            if (status is not (ConsultationStatus.Received or ConsultationStatus.Assigned or ConsultationStatus.InformationRequested))
            {
                throw new PreconditionFailedException("NOT_REASSIGNABLE", $"Consultation {consultationId} is {StatusName(status)}: only a case not yet reported can be reassigned.");
            }
            await using (var expert = connection.Command("SELECT 1 FROM experts WHERE expert_id = @expert AND active = 1", transaction).With("@expert", toExpertId))
            {
                if (await expert.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw new ResourceNotFoundException("Active expert", toExpertId);
                }
            }
            if (assigned == toExpertId)
            {
                return "";
            }
            if (assigned is not null)
            {
                await ExpertAssignment.ReleaseAsync(connection, transaction, assigned, cancellationToken);
            }
            await ExpertAssignment.AssignAsync(connection, transaction, consultationId, nodeId, toExpertId, now, cancellationToken, administrator,
                ConsultationStepKind.Reassigned, assigned is null ? "from the queue" : $"from {assigned}");
            return nodeId;
        }, cancellationToken);
        if (nodeId.Length > 0)
        {
            feed.Notify([nodeId]);
        }
    }

    /// <summary>Every consultation waiting for an expert, longest waiting first within each queue's order.</summary>
    public async Task<IReadOnlyList<WaitingConsultation>> WaitingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT c.consultation_id, c.facility_code, c.organ_system, c.urgency, c.received_at,
                   (SELECT COUNT(*) FROM consultation_declines d WHERE d.consultation_id = c.consultation_id)
            FROM consultations c WHERE c.status = 2
            ORDER BY c.organ_system, c.urgency DESC, c.received_at, c.consultation_id
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var waiting = new List<WaitingConsultation>();
        var position = 0;
        var organ = -1;
        while (await reader.ReadAsync(cancellationToken))
        {
            var organSystem = reader.GetInt32(2);
            position = organSystem == organ ? position + 1 : 1;
            organ = organSystem;
            waiting.Add(new WaitingConsultation(reader.GetString(0), reader.GetString(1), (OrganSystem)organSystem, (Urgency)reader.GetInt32(3), reader.GetInstant(4),
                position, reader.GetInt32(5)));
        }
        return waiting;
    }

    /// <summary>Takes the case from its expert (recording why), frees their capacity, and offers it to the next expert or the queue.</summary>
    private static async Task<string?> UnassignAndOfferAsync(DbConnection connection, DbTransaction transaction, string consultationId, string nodeId, string expertId,
        OrganSystem organ, DateTimeOffset now, ConsultationStep why, CancellationToken cancellationToken)
    {
        await using (var update = connection.Command(
            "UPDATE consultations SET status = @received, assigned_expert_id = NULL, assigned_at = NULL, updated_at = @now WHERE consultation_id = @id", transaction)
            .With("@received", (int)ConsultationStatus.Received).With("@now", now.ToDbText()).With("@id", consultationId))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await ExpertAssignment.ReleaseAsync(connection, transaction, expertId, cancellationToken);
        await EventFeed.AppendStatusAsync(connection, transaction, nodeId, consultationId, now, ConsultationStatus.Received, cancellationToken);
        await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, consultationId, why, now, cancellationToken);
        if (!await ExpertAssignment.TryAssignAsync(connection, transaction, consultationId, nodeId, organ, now, cancellationToken))
        {
            return null;
        }
        await using var assigned = connection.Command("SELECT assigned_expert_id FROM consultations WHERE consultation_id = @id", transaction).With("@id", consultationId);
        return await assigned.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task<(string NodeId, ConsultationStatus Status, string? Expert, OrganSystem Organ)> ReadForReassignmentAsync(DbConnection connection,
        DbTransaction transaction, string consultationId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT spoke_node_id, status, assigned_expert_id, organ_system FROM consultations WHERE consultation_id = @id", transaction)
            .With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetString(0), (ConsultationStatus)reader.GetInt32(1), reader.GetNullableString(2), (OrganSystem)reader.GetInt32(3))
            : throw new ResourceNotFoundException("Consultation", consultationId);
    }
}
