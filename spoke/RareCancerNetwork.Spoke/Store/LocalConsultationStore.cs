using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Pseudonymisation;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>
/// The facility's consultations at the spoke. A submission and its outbox entry commit together
/// before the user is answered, so nothing acknowledged can be lost by a crash or a dead hub.
/// </summary>
public sealed partial class LocalConsultationStore(SpokeDatabase database, PatientPseudonymizer pseudonymizer, OutboxSignal outboxSignal, TimeProvider clock)
{
    private const string Columns =
        "consultation_id, local_patient_id, details, status, delivery_state, delivery_error, submitted_at, updated_at, submitted_by, withdrawal_reason, acknowledged_version, acknowledged_at, queue_position";

    public async Task<(LocalConsultation Consultation, bool Duplicate)> SubmitAsync(
        string facilityCode, string submittedBy, SubmitConsultationRequest request, CallAudit? audit, CancellationToken cancellationToken)
    {
        var requestSha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        var contentSha256 = ContentSha256(request);
        var now = clock.GetUtcNow();
        // The submission, its outbox entry and the call's audit entry share a commit with whatever else is being written at
        // the moment (group commit).
        var (consultationId, duplicate) = await database.Database.WriteAsync<(string, bool)>(audit, async (connection, transaction) =>
        {
            await using (var existing = connection.Command("SELECT request_sha256 FROM consultations WHERE consultation_id = $id", transaction)
                .With("$id", request.ConsultationId))
            {
                if (await existing.ExecuteScalarAsync(cancellationToken) is string previous)
                {
                    return previous == requestSha256
                        ? (request.ConsultationId, true)
                        : throw new ConflictException($"Consultation {request.ConsultationId} was already submitted with different content; use a new consultation_id.");
                }
            }
            // The same patient and content under a new id is the same submission sent again (a re-run file without an id).
            await using (var sameContent = connection.Command("SELECT consultation_id FROM consultations WHERE content_sha256 = $content", transaction)
                .With("$content", contentSha256))
            {
                if (await sameContent.ExecuteScalarAsync(cancellationToken) is string original)
                {
                    return (original, true);
                }
            }
            var pseudonym = pseudonymizer.Pseudonymise(request.LocalPatientId);
            await using (var insert = connection.Command(
                """
                INSERT INTO consultations (consultation_id, local_patient_id, patient_pseudonym, details, request_sha256, content_sha256, submitted_by,
                    submitted_at, status, delivery_state, updated_at)
                VALUES ($id, $patient, $pseudonym, $details, $sha, $content, $by, $now, $status, $delivery, $now)
                """, transaction)
                .With("$id", request.ConsultationId).With("$patient", request.LocalPatientId).With("$pseudonym", pseudonym)
                .With("$details", request.Details.ToByteArray()).With("$sha", requestSha256).With("$content", contentSha256).With("$by", submittedBy).With("$now", now.ToDbText())
                .With("$status", (int)ConsultationStatus.Submitted).With("$delivery", (int)DeliveryState.Pending))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            var delivery = new DeliverConsultationRequest
            {
                ConsultationId = request.ConsultationId,
                RequestingFacilityCode = facilityCode,
                PatientPseudonym = pseudonym,
                SubmittedBy = submittedBy,
                SubmittedAt = Timestamp.FromDateTimeOffset(now),
                Details = request.Details,
            };
            await OutboxStore.EnqueueAsync(connection, transaction, OutboxStore.DeliverConsultationKind, request.ConsultationId,
                OrderingKey(request.ConsultationId), delivery.ToByteArray(), now, cancellationToken);
            return (request.ConsultationId, false);
        }, cancellationToken);
        if (!duplicate)
        {
            outboxSignal.Wake();
        }
        return (await GetAsync(consultationId, cancellationToken), duplicate);
    }

    public async Task<LocalConsultation> GetAsync(string consultationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM consultations WHERE consultation_id = $id").With("$id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new ResourceNotFoundException("Consultation", consultationId);
        }
        var consultation = Read(reader);
        consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, consultationId, cancellationToken));
        consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, null, consultationId, cancellationToken));
        consultation.Timeline.AddRange(await TimelineAsync(connection, null, consultationId, cancellationToken));
        return consultation;
    }

    public async Task<(IReadOnlyList<LocalConsultation> Page, string NextPageToken)> ListAsync(
        ConsultationStatus status, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var (afterSubmitted, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT {Columns} FROM consultations
            WHERE ($status = 0 OR status = $status)
              AND ($afterSubmitted IS NULL OR (submitted_at, consultation_id) < ($afterSubmitted, $afterId))
            ORDER BY submitted_at DESC, consultation_id DESC LIMIT $limit
            """)
            .With("$status", (int)status).With("$afterSubmitted", afterSubmitted).With("$afterId", afterId).With("$limit", pageSize + 1);
        var rows = new List<(LocalConsultation Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = Read(reader);
                rows.Add((row, reader.GetString(6), row.ConsultationId));
            }
        }
        var (page, next) = KeysetPage.Split(rows, pageSize);
        foreach (var consultation in page)
        {
            consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, consultation.ConsultationId, cancellationToken));
            consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, null, consultation.ConsultationId, cancellationToken));
            consultation.Timeline.AddRange(await TimelineAsync(connection, null, consultation.ConsultationId, cancellationToken));
        }
        return (page, next);
    }


    private static LocalConsultation Read(SqliteDataReader reader) => new()
    {
        ConsultationId = reader.GetString(0),
        LocalPatientId = reader.GetString(1),
        Details = ConsultationDetails.Parser.ParseFrom((byte[])reader[2]),
        Status = (ConsultationStatus)reader.GetInt32(3),
        DeliveryState = (DeliveryState)reader.GetInt32(4),
        DeliveryError = reader.GetNullableString(5) ?? "",
        SubmittedAt = Timestamp.FromDateTimeOffset(reader.GetInstant(6)),
        UpdatedAt = Timestamp.FromDateTimeOffset(reader.GetInstant(7)),
        SubmittedBy = reader.GetString(8),
        WithdrawalReason = reader.GetNullableString(9) ?? "",
        AcknowledgedVersion = reader.GetInt32(10),
        AcknowledgedAt = reader.GetNullableInstant(11).ToTimestamp(),
        QueuePosition = reader.GetInt32(12),
    };

    /// <summary>SHA-256 over the local patient id and the details: what makes two submissions the same one.</summary>
    private static string ContentSha256(SubmitConsultationRequest request)
    {
        var content = new SubmitConsultationRequest { LocalPatientId = request.LocalPatientId, Details = request.Details };
        return Convert.ToHexStringLower(SHA256.HashData(content.ToByteArray()));
    }
}
