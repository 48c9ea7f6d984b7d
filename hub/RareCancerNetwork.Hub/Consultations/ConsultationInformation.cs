using System.Data.Common;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Information requests: the assigned expert asks the requesting facility for more (the consultation waits in
/// INFORMATION_REQUESTED, the request reaches the spoke through its feed), and the facility's answer returns it to
/// ASSIGNED. One open request at a time; each applied once.
/// </summary>
public sealed partial class ConsultationStore
{
    public async Task<(InformationRequest Request, bool Duplicate)> RequestInformationAsync(string expertId, string expertName, RequestInformationRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (asked, duplicate, nodeId) = await database.WriteAsync(async (connection, transaction) =>
        {
            string nodeId;
            ConsultationStatus status;
            await using (var command = connection.Command("SELECT spoke_node_id, status, assigned_expert_id FROM consultations WHERE consultation_id = @id", transaction)
                .With("@id", request.ConsultationId))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new ResourceNotFoundException("Consultation", request.ConsultationId);
                }
                if (reader.GetNullableString(2) != expertId)
                {
                    throw new AccessDeniedException($"Consultation {request.ConsultationId} is not assigned to you.");
                }
                (nodeId, status) = (reader.GetString(0), (ConsultationStatus)reader.GetInt32(1));
            }
            var existing = await InformationRequestsAsync(connection, transaction, request.ConsultationId, cancellationToken);
            if (existing.FirstOrDefault(r => r.RequestId == request.RequestId) is { } same)
            {
                return same.Question == request.Question
                    ? (same, true, "")
                    : throw new ConflictException($"Information request {request.RequestId} was made before with another question.");
            }
            if (status != ConsultationStatus.Assigned)
            {
                throw new PreconditionFailedException("NOT_ASSIGNED", status == ConsultationStatus.InformationRequested
                    ? $"Consultation {request.ConsultationId} already waits for the answer to an information request; one is open at a time."
                    : $"Consultation {request.ConsultationId} is {StatusName(status)}: information can be requested only while it is assigned and not yet reported.");
            }
            var asked = new InformationRequest
            {
                RequestId = request.RequestId,
                Question = request.Question,
                AskedByExpertId = expertId,
                AskedByName = expertName,
                AskedAt = Timestamp.FromDateTimeOffset(now),
            };
            await using (var insert = connection.Command(
                "INSERT INTO consultation_information_requests (request_id, consultation_id, sequence, request, asked_at) VALUES (@id, @consultation, @sequence, @request, @now)",
                transaction)
                .With("@id", asked.RequestId).With("@consultation", request.ConsultationId).With("@sequence", existing.Count + 1).With("@request", asked.ToByteArray())
                .With("@now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await SetStatusAsync(connection, transaction, request.ConsultationId, ConsultationStatus.InformationRequested, now, cancellationToken);
            await EventFeed.AppendAsync(connection, transaction, nodeId, request.ConsultationId, now, new SubscribeEventsResponse { InformationRequested = asked }, cancellationToken);
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.InformationRequested, cancellationToken);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.InformationRequested,
                ConsultationStatus.InformationRequested, expertId, expertId, request.Question), now, cancellationToken);
            return (asked, false, nodeId);
        }, cancellationToken);
        if (!duplicate)
        {
            feed.Notify([nodeId]);
        }
        return (asked, duplicate);
    }

    public async Task<(InformationRequest Request, ConsultationStatus Status, bool Duplicate)> AnswerInformationAsync(string nodeId, DeliverInformationAnswerRequest answer,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var result = await database.WriteAsync(async (connection, transaction) =>
        {
            var (status, _) = await OwnAsync(connection, transaction, nodeId, answer.ConsultationId, cancellationToken);
            var request = (await InformationRequestsAsync(connection, transaction, answer.ConsultationId, cancellationToken)).FirstOrDefault(r => r.RequestId == answer.RequestId)
                ?? throw new ResourceNotFoundException("Information request", answer.RequestId);
            if (request.AnsweredAt is not null)
            {
                return (request, status, true);
            }
            request.Answer = answer.Answer;
            request.AnswerAttachments.AddRange(answer.Attachments);
            // The answer's files may arrive after it: the expert sees each as it becomes whole.
            await ConsultationAttachmentRows.RecordAsync(connection, transaction, answer.ConsultationId, answer.RequestId, answer.Attachments, cancellationToken);
            request.AnsweredBy = answer.AnsweredBy;
            request.AnsweredAt = answer.AnsweredAt;
            await using (var update = connection.Command("UPDATE consultation_information_requests SET request = @request, answered_at = @now WHERE request_id = @id", transaction)
                .With("@request", request.ToByteArray()).With("@now", now.ToDbText()).With("@id", request.RequestId))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            var providedStatus = status == ConsultationStatus.InformationRequested ? ConsultationStatus.Assigned : status;
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, answer.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.InformationProvided,
                providedStatus, answer.AnsweredBy, detail: answer.Attachments.Count > 0 ? $"answer with {answer.Attachments.Count} file(s)" : "answer"), now, cancellationToken);
            if (status == ConsultationStatus.InformationRequested)
            {
                // Back to the expert. (A withdrawn or already reported consultation keeps its status; the answer is kept with it.)
                status = ConsultationStatus.Assigned;
                await SetStatusAsync(connection, transaction, answer.ConsultationId, status, now, cancellationToken);
                await EventFeed.AppendStatusAsync(connection, transaction, nodeId, answer.ConsultationId, now, status, cancellationToken);
            }
            return (request, status, false);
        }, cancellationToken);
        if (!result.Item3)
        {
            feed.Notify([nodeId]);
        }
        return result;
    }

    /// <summary>A consultation's information requests, oldest first.</summary>
    private static async Task<List<InformationRequest>> InformationRequestsAsync(DbConnection connection, DbTransaction? transaction, string consultationId,
        CancellationToken cancellationToken)
    {
        var requests = new List<InformationRequest>();
        await using var command = connection.Command("SELECT request FROM consultation_information_requests WHERE consultation_id = @id ORDER BY sequence", transaction)
            .With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(InformationRequest.Parser.ParseFrom((byte[])reader[0]));
        }
        return requests;
    }

    private static async Task SetStatusAsync(DbConnection connection, DbTransaction transaction, string consultationId, ConsultationStatus status, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var update = connection.Command("UPDATE consultations SET status = @status, updated_at = @now WHERE consultation_id = @id", transaction)
            .With("@status", (int)status).With("@now", now.ToDbText()).With("@id", consultationId);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }
}
