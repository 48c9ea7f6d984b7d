using System.Data.Common;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>How a consultation closes: withdrawn by its facility before any report, or its report acknowledged.</summary>
public sealed partial class ConsultationStore
{
    /// <summary>Withdraws a consultation; the assigned expert's case closes (their capacity frees) and they can no longer report.</summary>
    public async Task<(ConsultationStatus Status, bool Duplicate)> WithdrawAsync(string nodeId, DeliverConsultationWithdrawalRequest request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (status, duplicate, notify) = await database.WriteAsync(async (connection, transaction) =>
        {
            var (current, expertId) = await OwnAsync(connection, transaction, nodeId, request.ConsultationId, cancellationToken);
            if (current == ConsultationStatus.Withdrawn)
            {
                return (current, true, (IReadOnlyList<string>)[]);
            }
            if (current is ConsultationStatus.Reported or ConsultationStatus.Acknowledged)
            {
                throw new PreconditionFailedException("ALREADY_REPORTED",
                    $"Consultation {request.ConsultationId} is {StatusName(current)}: a reported consultation cannot be withdrawn (amendments go through its expert).");
            }
            await using (var update = connection.Command(
                """
                UPDATE consultations SET status = @withdrawn, withdrawn_at = @at, withdrawn_by = @by, withdrawal_reason = @reason, updated_at = @now
                WHERE consultation_id = @id
                """, transaction)
                .With("@withdrawn", (int)ConsultationStatus.Withdrawn).With("@at", request.WithdrawnAt.ToDateTimeOffset().ToDbText()).With("@by", request.WithdrawnBy)
                .With("@reason", request.Reason).With("@now", now.ToDbText()).With("@id", request.ConsultationId))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.Withdrawn, cancellationToken);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId,
                ConsultationTimeline.Step(ConsultationStepKind.Withdrawn, ConsultationStatus.Withdrawn, request.WithdrawnBy, expertId ?? "", request.Reason), now, cancellationToken);
            var notify = new List<string> { nodeId };
            if (current == ConsultationStatus.Received)
            {
                // It waited in a queue: the cases behind it move up.
                notify.AddRange(await ConsultationTimeline.RefreshQueueOfAsync(connection, transaction, request.ConsultationId, now, cancellationToken));
            }
            if (expertId is not null)
            {
                // The expert's case closed: their capacity frees for a waiting one.
                await ExpertAssignment.ReleaseAsync(connection, transaction, expertId, cancellationToken);
                notify.AddRange(await ExpertAssignment.FillAsync(connection, transaction, expertId, now, cancellationToken));
            }
            return (ConsultationStatus.Withdrawn, false, (IReadOnlyList<string>)notify);
        }, cancellationToken);
        feed.Notify(notify);
        return (status, duplicate);
    }

    /// <summary>Records that the facility read the latest report version; the first acknowledgement's time is the turnaround's end.</summary>
    public async Task<(ConsultationStatus Status, bool Duplicate)> AcknowledgeAsync(string nodeId, DeliverReportAcknowledgementRequest request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (status, duplicate) = await database.WriteAsync(async (connection, transaction) =>
        {
            var (current, _) = await OwnAsync(connection, transaction, nodeId, request.ConsultationId, cancellationToken);
            int latest;
            int acknowledged;
            await using (var versions = connection.Command(
                "SELECT COALESCE((SELECT MAX(version) FROM consultation_reports WHERE consultation_id = @id), 0), COALESCE(acknowledged_version, 0) FROM consultations WHERE consultation_id = @id",
                transaction).With("@id", request.ConsultationId))
            await using (var reader = await versions.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                (latest, acknowledged) = (reader.GetInt32(0), reader.GetInt32(1));
            }
            if (current == ConsultationStatus.Acknowledged && acknowledged == request.ReportVersion)
            {
                return (current, true);
            }
            if (current is not (ConsultationStatus.Reported or ConsultationStatus.Acknowledged))
            {
                throw new PreconditionFailedException("NOT_REPORTED", $"Consultation {request.ConsultationId} is {StatusName(current)}: there is no report to acknowledge.");
            }
            if (request.ReportVersion != latest)
            {
                throw new PreconditionFailedException("STALE_VERSION",
                    $"Report version {request.ReportVersion} is not the latest of consultation {request.ConsultationId}; version {latest} is: read and acknowledge it.");
            }
            await using (var update = connection.Command(
                """
                UPDATE consultations SET status = @acknowledged, acknowledged_at = COALESCE(acknowledged_at, @at), acknowledged_by = @by,
                    acknowledged_version = @version, updated_at = @now
                WHERE consultation_id = @id
                """, transaction)
                .With("@acknowledged", (int)ConsultationStatus.Acknowledged).With("@at", request.AcknowledgedAt.ToDateTimeOffset().ToDbText())
                .With("@by", request.AcknowledgedBy).With("@version", request.ReportVersion).With("@now", now.ToDbText()).With("@id", request.ConsultationId))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.Acknowledged, cancellationToken);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.Acknowledged,
                ConsultationStatus.Acknowledged, request.AcknowledgedBy, detail: $"report version {request.ReportVersion}"), now, cancellationToken);
            return (ConsultationStatus.Acknowledged, false);
        }, cancellationToken);
        if (!duplicate)
        {
            feed.Notify([nodeId]);
        }
        return (status, duplicate);
    }

    /// <summary>The consultation's status and assigned expert, when it is the node's own.</summary>
    private static async Task<(ConsultationStatus Status, string? ExpertId)> OwnAsync(DbConnection connection, DbTransaction transaction, string nodeId, string consultationId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT spoke_node_id, status, assigned_expert_id FROM consultations WHERE consultation_id = @id", transaction)
            .With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new ResourceNotFoundException("Consultation", consultationId);
        }
        if (reader.GetString(0) != nodeId)
        {
            throw new AccessDeniedException($"Consultation {consultationId} belongs to another spoke node.");
        }
        return ((ConsultationStatus)reader.GetInt32(1), reader.GetNullableString(2));
    }

    private static string StatusName(ConsultationStatus status) => Node.CommandLine.ProtoEnumNames.Name(status).ToUpperInvariant();
}
