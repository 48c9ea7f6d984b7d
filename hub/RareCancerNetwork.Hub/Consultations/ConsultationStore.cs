using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using System.Data.Common;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>Result of a delivery: what the hub holds now, and whether this was a repeat.</summary>
public sealed record DeliveryOutcome(ConsultationStatus Status, DateTimeOffset ReceivedAt, bool Duplicate);

/// <summary>
/// Consultations at the hub: idempotent intake from spokes, assignment, expert reads and signed
/// reports. Every change and its feed events commit in one transaction.
/// </summary>
public sealed partial class ConsultationStore(HubDatabase database, EventFeed feed, TimeProvider clock)
{
    private const string AssignedColumns =
        "consultation_id, facility_code, patient_pseudonym, details, status, received_at, assigned_at, withdrawal_reason";

    public async Task<DeliveryOutcome> DeliverAsync(string nodeId, DeliverConsultationRequest request, CancellationToken cancellationToken)
    {
        // The store write of a delivered consultation, the last span of its trace from the spoke's API.
        using var activity = RareCancerNetwork.Node.Telemetry.NodeTelemetry.Source.StartActivity("store consultation");
        var now = clock.GetUtcNow();
        // Two instances receiving the same delivery at once: the consultation's primary key lets one
        // commit; the other's transaction is refused by the database, runs again and finds it stored.
        var outcome = await database.WriteAsync((connection, transaction) => DeliverInAsync(connection, transaction, nodeId, request, now, cancellationToken),
            cancellationToken);
        if (!outcome.Duplicate)
        {
            feed.Notify([nodeId]);
        }
        return outcome;
    }

    /// <summary>
    /// Several deliveries in one transaction (one commit, and on PostgreSQL one transaction's round trips instead of
    /// one per consultation), each with its own answer: a consultation of another node or a repeat with other content
    /// is refused alone (<see cref="AccessDeniedException"/> or <see cref="ConflictException"/> in its place) and the
    /// others are stored. Those refusals are found before anything of that consultation is written.
    /// </summary>
    /// <param name="audit">The delivering call's audit entries (<see cref="HubDatabase.WriteDeliveryAsync"/>).</param>
    public async Task<IReadOnlyList<Result<DeliveryOutcome>>> DeliverManyAsync(string nodeId, IReadOnlyList<DeliverConsultationRequest> requests,
        CallAudit? audit, CancellationToken cancellationToken)
    {
        using var activity = RareCancerNetwork.Node.Telemetry.NodeTelemetry.Source.StartActivity("store consultations");
        activity?.SetTag("rcn.consultations", requests.Count);
        // Which spoke delivered them: the node, never anything of the patients.
        activity?.SetTag("rcn.spoke_node", nodeId);
        var now = clock.GetUtcNow();
        var outcomes = await database.WriteDeliveryAsync(audit, async (connection, transaction) =>
        {
            var outcomes = new Result<DeliveryOutcome>[requests.Count];
            // Stored in id order: the batch shares one received instant, so the queue orders them by id (UUIDv7, creation
            // order to the millisecond), and each then joins at the back instead of re-placing the whole queue (benchmark:
            // a batch stored in outbox order did, and delivery fell to a third).
            foreach (var (request, index) in requests.Select((request, index) => (request, index)).OrderBy(r => r.request.ConsultationId, StringComparer.Ordinal))
            {
                try
                {
                    outcomes[index] = new(await DeliverInAsync(connection, transaction, nodeId, request, now, cancellationToken), null);
                }
                catch (Exception refusal) when (refusal is AccessDeniedException or ConflictException)
                {
                    outcomes[index] = new(null, (NetworkException)refusal);
                }
            }
            return outcomes;
        }, cancellationToken);
        if (outcomes.Any(o => o.Value is { Duplicate: false }))
        {
            feed.Notify([nodeId]);
        }
        return outcomes;
    }

    /// <summary>One consultation's answer in a batch: its outcome, or why it was refused.</summary>
    public sealed record Result<T>(T? Value, NetworkException? Refusal) where T : class;

    private static async Task<DeliveryOutcome> DeliverInAsync(DbConnection connection, DbTransaction transaction, string nodeId, DeliverConsultationRequest request,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deliverySha256 = Convert.ToHexStringLower(SHA256.HashData(request.ToByteArray()));
        await using (var existing = connection.Command(
            "SELECT spoke_node_id, delivery_sha256, status, received_at FROM consultations WHERE consultation_id = @id", transaction)
            .With("@id", request.ConsultationId))
        await using (var reader = await existing.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                if (reader.GetString(0) != nodeId)
                {
                    throw new AccessDeniedException($"Consultation {request.ConsultationId} belongs to another spoke node.");
                }
                if (reader.GetString(1) != deliverySha256)
                {
                    throw new ConflictException($"Consultation {request.ConsultationId} was already delivered with different content; use a new consultation_id.");
                }
                return new DeliveryOutcome((ConsultationStatus)reader.GetInt32(2), reader.GetInstant(3), Duplicate: true);
            }
        }
        await using (var insert = connection.Command(
            """
            INSERT INTO consultations (consultation_id, spoke_node_id, facility_code, patient_pseudonym, submitted_by, submitted_at,
                received_at, organ_system, urgency, details, delivery_sha256, status, updated_at)
            VALUES (@id, @node, @facility, @pseudonym, @by, @submittedAt, @now, @organ, @urgency, @details, @sha, @status, @now)
            """, transaction)
            .With("@id", request.ConsultationId).With("@node", nodeId).With("@facility", request.RequestingFacilityCode)
            .With("@pseudonym", request.PatientPseudonym).With("@by", request.SubmittedBy)
            .With("@submittedAt", request.SubmittedAt.ToDateTimeOffset().ToDbText()).With("@now", now.ToDbText())
            .With("@organ", (int)request.Details.OrganSystem).With("@urgency", (int)request.Details.Urgency)
            .With("@details", request.Details.ToByteArray()).With("@sha", deliverySha256).With("@status", (int)ConsultationStatus.Received))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        // Offered to an expert only once every attached file is here, whole (a file the hub holds already counts).
        var missing = await ConsultationAttachmentRows.RecordAsync(connection, transaction, request.ConsultationId, ConsultationAttachmentRows.OwnFiles,
            request.Details.Attachments, cancellationToken);
        if (missing > 0)
        {
            await SetStatusAsync(connection, transaction, request.ConsultationId, ConsultationStatus.AwaitingAttachments, now, cancellationToken);
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.AwaitingAttachments, cancellationToken);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId,
                ConsultationTimeline.Step(ConsultationStepKind.Received, ConsultationStatus.AwaitingAttachments, request.SubmittedBy,
                    detail: $"waiting for {ConsultationAttachmentRows.Describe(request.Details.Attachments)}"), now, cancellationToken);
            return new DeliveryOutcome(ConsultationStatus.AwaitingAttachments, now, Duplicate: false);
        }
        await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.Received, cancellationToken);
        await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId,
            ConsultationTimeline.Step(ConsultationStepKind.Received, ConsultationStatus.Received, request.SubmittedBy), now, cancellationToken);
        var status = await ExpertAssignment.TryAssignAsync(connection, transaction, request.ConsultationId, nodeId, request.Details.OrganSystem, now, cancellationToken)
            ? ConsultationStatus.Assigned
            : ConsultationStatus.Received;
        return new DeliveryOutcome(status, now, Duplicate: false);
    }

    /// <summary>A consultation whose attached files have all arrived: received, and offered to an expert of its organ system.</summary>
    internal static async Task OfferAsync(DbConnection connection, DbTransaction transaction, string consultationId, string nodeId, OrganSystem organ,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await SetStatusAsync(connection, transaction, consultationId, ConsultationStatus.Received, now, cancellationToken);
        await EventFeed.AppendStatusAsync(connection, transaction, nodeId, consultationId, now, ConsultationStatus.Received, cancellationToken);
        await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, consultationId,
            ConsultationTimeline.Step(ConsultationStepKind.AttachmentsReceived, ConsultationStatus.Received, ConsultationTimeline.HubActor), now, cancellationToken);
        await ExpertAssignment.TryAssignAsync(connection, transaction, consultationId, nodeId, organ, now, cancellationToken);
    }

    public async Task<FetchConsultationResponse> FetchForNodeAsync(string nodeId, string consultationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        FetchConsultationResponse response;
        // One reader at a time on a connection: PostgreSQL has no second active result set.
        await using (var command = connection.Command("SELECT spoke_node_id, status, received_at FROM consultations WHERE consultation_id = @id")
            .With("@id", consultationId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new ResourceNotFoundException("Consultation", consultationId);
            }
            if (reader.GetString(0) != nodeId)
            {
                throw new AccessDeniedException($"Consultation {consultationId} belongs to another spoke node.");
            }
            response = new FetchConsultationResponse
            {
                ConsultationId = consultationId,
                Status = (ConsultationStatus)reader.GetInt32(1),
                ReceivedAt = Timestamp.FromDateTimeOffset(reader.GetInstant(2)),
            };
        }
        response.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, consultationId, cancellationToken));
        return response;
    }

    public async Task<(IReadOnlyList<AssignedConsultation> Page, string NextPageToken)> ListAssignedAsync(
        string expertId, ConsultationStatus status, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var (afterReceived, afterId) = KeysetPageToken.Decode(pageToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT {AssignedColumns} FROM consultations
            WHERE assigned_expert_id = @expert AND (@status = 0 OR status = @status)
              AND (@afterReceived IS NULL OR (received_at, consultation_id) < (@afterReceived, @afterId))
            ORDER BY received_at DESC, consultation_id DESC LIMIT @limit
            """)
            .With("@expert", expertId).With("@status", (int)status).With("@afterReceived", afterReceived).With("@afterId", afterId).With("@limit", pageSize + 1);
        var rows = new List<(AssignedConsultation Item, string SortKey, string Id)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = ReadAssigned(reader);
                rows.Add((row, reader.GetString(5), row.ConsultationId));
            }
        }
        var (page, next) = KeysetPage.Split(rows, pageSize);
        foreach (var consultation in page)
        {
            consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, consultation.ConsultationId, cancellationToken));
            consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, null, consultation.ConsultationId, cancellationToken));
            consultation.Timeline.AddRange(await ConsultationTimeline.ReadAsync(connection, null, consultation.ConsultationId, cancellationToken));
        }
        return (page, next);
    }

    public async Task<AssignedConsultation> GetAssignedAsync(string expertId, string consultationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        AssignedConsultation consultation;
        await using (var command = connection.Command($"SELECT {AssignedColumns}, assigned_expert_id FROM consultations WHERE consultation_id = @id")
            .With("@id", consultationId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new ResourceNotFoundException("Consultation", consultationId);
            }
            if (reader.GetNullableString(8) != expertId)
            {
                throw new AccessDeniedException($"Consultation {consultationId} is not assigned to you.");
            }
            consultation = ReadAssigned(reader);
        }
        consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, consultationId, cancellationToken));
        consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, null, consultationId, cancellationToken));
        consultation.Timeline.AddRange(await ConsultationTimeline.ReadAsync(connection, null, consultationId, cancellationToken));
        consultation.DraftUnderReview = await PendingDraftAsync(connection, consultationId, cancellationToken);
        return consultation;
    }

    public async Task<ConsultationReport> SubmitReportAsync(string expertId, string expertName, SubmitReportRequest request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (report, notify) = await database.WriteAsync(async (connection, transaction) =>
        {
            var (nodeId, status, latest) = await ReportContextAsync(connection, transaction, expertId, request, cancellationToken);
            var report = ReportVersions.Create(request, latest + 1, expertId, expertName, now);
            var notify = await ReleaseAsync(connection, transaction, nodeId, status, latest, report, now, cancellationToken);
            return (report, notify);
        }, cancellationToken);
        feed.Notify(notify);
        return report;
    }

    /// <summary>
    /// The checks every report passes: the caller's case, not withdrawn, not waiting for a second review, and replacing
    /// the latest version (an amendment with its reason). Returns the requesting node, the status and the latest version.
    /// </summary>
    private static async Task<(string NodeId, ConsultationStatus Status, int Latest)> ReportContextAsync(DbConnection connection, DbTransaction transaction, string expertId,
        SubmitReportRequest request, CancellationToken cancellationToken)
    {
        string nodeId;
        ConsultationStatus status;
        await using (var command = connection.Command(
            "SELECT spoke_node_id, status, assigned_expert_id FROM consultations WHERE consultation_id = @id", transaction).With("@id", request.ConsultationId))
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
            nodeId = reader.GetString(0);
            status = (ConsultationStatus)reader.GetInt32(1);
        }
        if (status == ConsultationStatus.Withdrawn)
        {
            throw new PreconditionFailedException("WITHDRAWN", $"Consultation {request.ConsultationId} was withdrawn by the requester.");
        }
        if (status == ConsultationStatus.InSecondReview)
        {
            throw new PreconditionFailedException("IN_SECOND_REVIEW", $"Consultation {request.ConsultationId} has a report waiting for its second review; wait for the reviewer's decision.");
        }
        await using var latestCommand = connection.Command(
            "SELECT COALESCE(MAX(version), 0) FROM consultation_reports WHERE consultation_id = @id", transaction).With("@id", request.ConsultationId);
        var latest = (int)await latestCommand.ScalarInt64Async(cancellationToken);
        if (request.ReplacesVersion != latest)
        {
            throw new PreconditionFailedException("STALE_VERSION",
                $"replaces_version is {request.ReplacesVersion} but the latest report version is {latest}; reload and amend the latest version.");
        }
        if (latest > 0 && string.IsNullOrWhiteSpace(request.AmendmentReason))
        {
            throw new InvalidFieldsException([new FieldViolation("amendment_reason", "is required when amending a report")]);
        }
        return (nodeId, status, latest);
    }

    /// <summary>
    /// Releases a report: signed inside the transaction that stores it (no report is ever stored or sent unsigned), sent
    /// to the requesting spoke, recorded in the timeline; the first report closes the case for its author.
    /// </summary>
    private static async Task<List<string>> ReleaseAsync(DbConnection connection, DbTransaction transaction, string nodeId, ConsultationStatus status, int latest,
        ConsultationReport report, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using (var signingKey = await ReportSigningKeys.ActiveAsync(connection, transaction, now, cancellationToken))
        {
            report.SignatureJws = ReportSignatures.Sign(report, signingKey);
        }
        var author = report.SignedByExpertId;
        await using (var insert = connection.Command(
            "INSERT INTO consultation_reports (consultation_id, version, concordance, signed_by_expert_id, signed_at, report) VALUES (@id, @version, @concordance, @expert, @at, @report)",
            transaction).With("@id", report.ConsultationId).With("@version", report.Version).With("@concordance", (int)report.Concordance)
            .With("@expert", author).With("@at", now.ToDbText()).With("@report", report.ToByteArray()))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await EventFeed.AppendAsync(connection, transaction, nodeId, report.ConsultationId, now, new SubscribeEventsResponse { ReportIssued = report }, cancellationToken);
        await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, report.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.Reported,
            ConsultationStatus.Reported, author, author, (report.Version == 1 ? "report version 1" : $"amended: version {report.Version} ({report.AmendmentReason})")
                + (report.ReviewedByExpertId.Length > 0 ? $", reviewed by {report.ReviewedByExpertId}" : "")),
            now, cancellationToken);
        if (status != ConsultationStatus.Reported)
        {
            // The first report; an amendment after the acknowledgement (to be acknowledged again); or a report out of its second review.
            await using var update = connection.Command(
                "UPDATE consultations SET status = @status, first_reported_at = COALESCE(first_reported_at, @now), updated_at = @now WHERE consultation_id = @id", transaction)
                .With("@status", (int)ConsultationStatus.Reported).With("@now", now.ToDbText()).With("@id", report.ConsultationId);
            await update.ExecuteNonQueryAsync(cancellationToken);
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, report.ConsultationId, now, ConsultationStatus.Reported, cancellationToken);
        }
        var notify = new List<string> { nodeId };
        if (latest == 0)
        {
            // The first report closes the case for the expert: their capacity frees for a waiting one.
            await ExpertAssignment.ReleaseAsync(connection, transaction, author, cancellationToken);
            notify.AddRange(await ExpertAssignment.FillAsync(connection, transaction, author, now, cancellationToken));
        }
        return notify;
    }

    /// <summary>Gives every active expert with spare capacity waiting cases of their specialties (after an expert is registered).</summary>
    /// <returns>How many cases were assigned.</returns>
    public async Task<int> AssignWaitingAsync(CancellationToken cancellationToken)
    {
        var notify = await database.WriteAsync(async (connection, transaction) =>
        {
            var notify = new List<string>();
            var experts = new List<string>();
            await using (var command = connection.Command("SELECT expert_id FROM experts WHERE active = 1 AND open_cases < capacity ORDER BY open_cases, expert_id", transaction))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    experts.Add(reader.GetString(0));
                }
            }
            foreach (var expertId in experts)
            {
                notify.AddRange(await ExpertAssignment.FillAsync(connection, transaction, expertId, clock.GetUtcNow(), cancellationToken));
            }
            return notify;
        }, cancellationToken);
        feed.Notify(notify);
        return notify.Count;
    }

    private static AssignedConsultation ReadAssigned(DbDataReader reader) => new()
    {
        ConsultationId = reader.GetString(0),
        RequestingFacilityCode = reader.GetString(1),
        PatientPseudonym = reader.GetString(2),
        Details = ConsultationDetails.Parser.ParseFrom((byte[])reader[3]),
        Status = (ConsultationStatus)reader.GetInt32(4),
        ReceivedAt = Timestamp.FromDateTimeOffset(reader.GetInstant(5)),
        AssignedAt = reader.GetNullableInstant(6).ToTimestamp(),
        WithdrawalReason = reader.GetNullableString(7) ?? "",
    };
}
