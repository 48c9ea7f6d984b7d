using System.Data.Common;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Second review: a report of major discordance is held, unsigned and unseen by the requester, for a second expert of
/// the organ system; approved, it is released naming both experts; returned, it goes back to its author with a comment.
/// </summary>
public sealed partial class ConsultationStore
{
    private const int Approved = 1;
    private const int Returned = 2;

    public async Task<(ConsultationReport Draft, string ReviewerId)> SubmitForSecondReviewAsync(string expertId, string expertName, SubmitReportRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (draft, reviewer, nodeId) = await database.WriteAsync(async (connection, transaction) =>
        {
            var (nodeId, status, latest) = await ReportContextAsync(connection, transaction, expertId, request, cancellationToken);
            string? reviewer;
            await using (var pick = connection.Command(
                """
                SELECT e.expert_id FROM consultations c JOIN expert_specialties s ON s.organ_system = c.organ_system JOIN experts e ON e.expert_id = s.expert_id
                WHERE c.consultation_id = @id AND e.active = 1 AND e.expert_id <> @author
                ORDER BY e.open_cases, e.expert_id LIMIT 1
                """, transaction).With("@id", request.ConsultationId).With("@author", expertId))
            {
                reviewer = await pick.ExecuteScalarAsync(cancellationToken) as string;
            }
            if (reviewer is null)
            {
                throw new PreconditionFailedException("NO_REVIEWER",
                    $"No other active expert of this consultation's organ system can review it; release the report without a second review, or ask an administrator to register one.");
            }
            var draft = ReportVersions.Create(request, latest + 1, expertId, expertName, now);
            int round;
            await using (var count = connection.Command("SELECT COUNT(*) + 1 FROM report_reviews WHERE consultation_id = @id", transaction).With("@id", request.ConsultationId))
            {
                round = (int)await count.ScalarInt64Async(cancellationToken);
            }
            await using (var insert = connection.Command(
                """
                INSERT INTO report_reviews (consultation_id, round, draft, author_expert_id, reviewer_expert_id, previous_status, requested_at)
                VALUES (@id, @round, @draft, @author, @reviewer, @previous, @now)
                """, transaction)
                .With("@id", request.ConsultationId).With("@round", round).With("@draft", draft.ToByteArray()).With("@author", expertId).With("@reviewer", reviewer)
                .With("@previous", (int)status).With("@now", now.ToDbText()))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await SetStatusAsync(connection, transaction, request.ConsultationId, ConsultationStatus.InSecondReview, now, cancellationToken);
            await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, ConsultationStatus.InSecondReview, cancellationToken);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.SecondReviewRequested,
                ConsultationStatus.InSecondReview, expertId, reviewer, $"report version {draft.Version}, major discordance"), now, cancellationToken);
            return (draft, reviewer, nodeId);
        }, cancellationToken);
        feed.Notify([nodeId]);
        return (draft, reviewer);
    }

    public async Task<(ConsultationStatus Status, ConsultationReport? Report)> ReviewAsync(string reviewerId, string reviewerName, ReviewReportRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (status, report, notify) = await database.WriteAsync(async (connection, transaction) =>
        {
            var review = await LatestReviewAsync(connection, transaction, request.ConsultationId, cancellationToken)
                ?? throw new ResourceNotFoundException("Second review", request.ConsultationId, "no report of this consultation was sent for a second review");
            if (review.Reviewer != reviewerId)
            {
                throw new AccessDeniedException($"The report of consultation {request.ConsultationId} waits for another expert's review.");
            }
            if (review.Decision is not null)
            {
                throw new PreconditionFailedException("REVIEW_DECIDED", $"You have {(review.Decision == Approved ? "approved" : "returned")} this report already.");
            }
            await using (var decide = connection.Command(
                "UPDATE report_reviews SET decision = @decision, comment = @comment, decided_at = @now WHERE consultation_id = @id AND round = @round", transaction)
                .With("@decision", request.Approve ? Approved : Returned).With("@comment", request.Comment).With("@now", now.ToDbText())
                .With("@id", request.ConsultationId).With("@round", review.Round))
            {
                await decide.ExecuteNonQueryAsync(cancellationToken);
            }
            var nodeId = review.NodeId;
            if (!request.Approve)
            {
                await SetStatusAsync(connection, transaction, request.ConsultationId, review.PreviousStatus, now, cancellationToken);
                await EventFeed.AppendStatusAsync(connection, transaction, nodeId, request.ConsultationId, now, review.PreviousStatus, cancellationToken);
                await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.SecondReviewReturned,
                    review.PreviousStatus, reviewerId, review.Draft.SignedByExpertId, request.Comment), now, cancellationToken);
                return (review.PreviousStatus, (ConsultationReport?)null, new List<string> { nodeId });
            }
            var released = review.Draft.Clone();
            released.ReviewedByExpertId = reviewerId;
            released.ReviewedByName = reviewerName;
            released.ReviewedAt = Timestamp.FromDateTimeOffset(now);
            released.ContentSha256 = ReportDigest.Compute(released);
            await ConsultationTimeline.AppendAsync(connection, transaction, nodeId, request.ConsultationId, ConsultationTimeline.Step(ConsultationStepKind.SecondReviewApproved,
                ConsultationStatus.InSecondReview, reviewerId, reviewerId, request.Comment), now, cancellationToken);
            var notify = await ReleaseAsync(connection, transaction, nodeId, ConsultationStatus.InSecondReview, released.Version - 1, released, now, cancellationToken);
            return (ConsultationStatus.Reported, released, notify);
        }, cancellationToken);
        feed.Notify(notify);
        return (status, report);
    }

    /// <summary>The reports waiting for the caller's second review, each case with its draft.</summary>
    public async Task<IReadOnlyList<AssignedConsultation>> SecondReviewsAsync(string reviewerId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var pending = new List<(string Id, ConsultationReport Draft)>();
        await using (var command = connection.Command(
            "SELECT consultation_id, draft FROM report_reviews WHERE reviewer_expert_id = @expert AND decision IS NULL ORDER BY requested_at, consultation_id")
            .With("@expert", reviewerId))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                pending.Add((reader.GetString(0), ConsultationReport.Parser.ParseFrom((byte[])reader[1])));
            }
        }
        var consultations = new List<AssignedConsultation>();
        foreach (var (id, draft) in pending)
        {
            await using var command = connection.Command($"SELECT {AssignedColumns} FROM consultations WHERE consultation_id = @id").With("@id", id);
            AssignedConsultation consultation;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                consultation = ReadAssigned(reader);
            }
            consultation.DraftUnderReview = draft;
            consultation.Reports.AddRange(await ConsultationReportRows.ReadAsync(connection, null, id, cancellationToken));
            consultation.InformationRequests.AddRange(await InformationRequestsAsync(connection, null, id, cancellationToken));
            consultation.Timeline.AddRange(await ConsultationTimeline.ReadAsync(connection, null, id, cancellationToken));
            consultations.Add(consultation);
        }
        return consultations;
    }

    /// <summary>The draft the author waits on, if any (shown to them beside the released versions).</summary>
    private static async Task<ConsultationReport?> PendingDraftAsync(DbConnection connection, string consultationId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT draft FROM report_reviews WHERE consultation_id = @id AND decision IS NULL").With("@id", consultationId);
        return await command.ExecuteScalarAsync(cancellationToken) is byte[] draft ? ConsultationReport.Parser.ParseFrom(draft) : null;
    }

    private sealed record Review(int Round, string NodeId, string Reviewer, int? Decision, ConsultationStatus PreviousStatus, ConsultationReport Draft);

    private static async Task<Review?> LatestReviewAsync(DbConnection connection, DbTransaction transaction, string consultationId, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            """
            SELECT r.round, c.spoke_node_id, r.reviewer_expert_id, r.decision, r.previous_status, r.draft
            FROM report_reviews r JOIN consultations c ON c.consultation_id = r.consultation_id
            WHERE r.consultation_id = @id ORDER BY r.round DESC LIMIT 1
            """, transaction).With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Review(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt32(3),
                (ConsultationStatus)reader.GetInt32(4), ConsultationReport.Parser.ParseFrom((byte[])reader[5]))
            : null;
    }
}
