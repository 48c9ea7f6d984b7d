using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>
/// The expert's information requests at the spoke: they arrive through the feed; the facility's answer is stored
/// and shown at once, returns the consultation to ASSIGNED here, and travels to the hub behind the consultation.
/// </summary>
public sealed partial class LocalConsultationStore
{
    public const string AnswerKind = "answer_information_request";

    public Task<LocalConsultation> AnswerAsync(string answeredBy, AnswerInformationRequestRequest request, CancellationToken cancellationToken) =>
        CloseAsync(request.ConsultationId, async (connection, transaction, current, now) =>
        {
            var asked = current.InformationRequests.FirstOrDefault(r => r.RequestId == request.RequestId)
                ?? throw new ResourceNotFoundException("Information request", request.RequestId);
            if (asked.AnsweredAt is not null)
            {
                throw new PreconditionFailedException("ALREADY_ANSWERED", $"Information request {request.RequestId} was answered at {asked.AnsweredAt.ToDateTimeOffset():u} by {asked.AnsweredBy}.");
            }
            asked.Answer = request.Answer;
            asked.AnswerAttachments.AddRange(request.Attachments);
            asked.AnsweredBy = answeredBy;
            asked.AnsweredAt = Timestamp.FromDateTimeOffset(now);
            await Execute(connection.Command("UPDATE consultation_information_requests SET request = $request, answered_at = $now WHERE request_id = $id", transaction)
                .With("$request", asked.ToByteArray()).With("$now", now.ToDbText()).With("$id", asked.RequestId), cancellationToken);
            if (current.Status == ConsultationStatus.InformationRequested)
            {
                await Execute(connection.Command("UPDATE consultations SET status = $assigned, updated_at = $now WHERE consultation_id = $id", transaction)
                    .With("$assigned", (int)ConsultationStatus.Assigned).With("$now", now.ToDbText()).With("$id", request.ConsultationId), cancellationToken);
            }
            var delivery = new DeliverInformationAnswerRequest
            {
                ConsultationId = request.ConsultationId, RequestId = request.RequestId, Answer = request.Answer, Attachments = { request.Attachments },
                AnsweredBy = answeredBy, AnsweredAt = asked.AnsweredAt,
            };
            await OutboxStore.EnqueueAsync(connection, transaction, AnswerKind, request.ConsultationId, OrderingKey(request.ConsultationId), delivery.ToByteArray(), now,
                cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>A request from the feed, in the feed's transaction; a repeat never overwrites an answer given here.</summary>
    public static async Task ApplyInformationRequestAsync(SqliteConnection connection, SqliteTransaction transaction, string consultationId, InformationRequest request,
        CancellationToken cancellationToken)
    {
        await using var insert = connection.Command(
            "INSERT INTO consultation_information_requests (request_id, consultation_id, request, asked_at) VALUES ($id, $consultation, $request, $at) ON CONFLICT (request_id) DO NOTHING",
            transaction)
            .With("$id", request.RequestId).With("$consultation", consultationId).With("$request", request.ToByteArray())
            .With("$at", request.AskedAt.ToDateTimeOffset().ToDbText());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A step of the hub's timeline, from the feed; a repeat changes nothing.</summary>
    public static async Task ApplyStepAsync(SqliteConnection connection, SqliteTransaction transaction, string consultationId, ConsultationStep step,
        CancellationToken cancellationToken)
    {
        await using var insert = connection.Command(
            "INSERT INTO consultation_steps (consultation_id, sequence, step) VALUES ($id, $sequence, $step) ON CONFLICT (consultation_id, sequence) DO NOTHING", transaction)
            .With("$id", consultationId).With("$sequence", step.Sequence).With("$step", step.ToByteArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<List<ConsultationStep>> TimelineAsync(SqliteConnection connection, SqliteTransaction? transaction, string consultationId,
        CancellationToken cancellationToken)
    {
        var steps = new List<ConsultationStep>();
        await using var command = connection.Command("SELECT step FROM consultation_steps WHERE consultation_id = $id ORDER BY sequence", transaction).With("$id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(ConsultationStep.Parser.ParseFrom((byte[])reader[0]));
        }
        return steps;
    }

    private static async Task<List<InformationRequest>> InformationRequestsAsync(SqliteConnection connection, SqliteTransaction? transaction, string consultationId,
        CancellationToken cancellationToken)
    {
        var requests = new List<InformationRequest>();
        await using var command = connection.Command("SELECT request FROM consultation_information_requests WHERE consultation_id = $id ORDER BY asked_at, request_id", transaction)
            .With("$id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            requests.Add(InformationRequest.Parser.ParseFrom((byte[])reader[0]));
        }
        return requests;
    }
}
