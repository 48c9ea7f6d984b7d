using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The pathology consultation loop across hub and spokes, with the hub on its embedded SQLite store.</summary>
[Collection(NetworkCollection.Name)]
public sealed class ConsultationLoopTests(TestNetwork network) : ConsultationLoopScenarios(network);

/// <summary>The same loop, every step of it, with the hub on PostgreSQL.</summary>
[Collection(PostgresNetworkCollection.Name)]
public sealed class ConsultationLoopOnPostgresTests : ConsultationLoopScenarios
{
    public ConsultationLoopOnPostgresTests(PostgresTestNetwork network) : base(network)
    {
        if (!network.Available)
        {
            Assert.Skip(RareCancerNetwork.Tests.Shared.PostgresCluster.InstallHint);
        }
    }
}

/// <summary>The pathology consultation loop across hub and spokes, in-process on real TLS with real tokens.</summary>
public abstract class ConsultationLoopScenarios(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WholeLoop_SubmitAssignReport_SpokeShowsSignedReport()
    {
        var submission = Samples.Submission("P-LOOP-1");
        var submitted = await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        Assert.False(submitted.Duplicate);
        Assert.Equal(ConsultationStatus.Submitted, submitted.Consultation.Status);
        Assert.Equal(DeliveryState.Pending, submitted.Consultation.DeliveryState);

        var assigned = await Eventually.UntilAsync(
            async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Assigned, "assignment reaches the spoke");
        Assert.Equal(DeliveryState.Delivered, assigned.DeliveryState);

        var expertToken = await network.AssignedExpertTokenAsync(submission.ConsultationId);
        var atHub = (await network.Expert(expertToken).GetAssignedConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation;
        Assert.Equal(TestNetwork.FacilityA, atHub.RequestingFacilityCode);
        Assert.Matches("^[0-9a-f]{64}$", atHub.PatientPseudonym);
        Assert.DoesNotContain("P-LOOP-1", atHub.ToString(), StringComparison.Ordinal);
        Assert.Equal(submission.Details, atHub.Details);

        var report = (await network.Expert(expertToken).SubmitReportAsync(Samples.Report(submission.ConsultationId), cancellationToken: Ct)).Report;
        Assert.Equal(1, report.Version);
        Assert.True(ReportDigest.Verify(report));
        Assert.Contains(report.SignedByExpertId, new[] { "expert-one", "expert-two" });

        var reported = await Eventually.UntilAsync(
            async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Reported && c.Reports.Count == 1, "report reaches the spoke");
        Assert.Equal(report, reported.Reports[0]);
        Assert.Equal("P-LOOP-1", reported.LocalPatientId);
    }

    private Task<LocalConsultation> AtSpokeAsync(string id, Func<LocalConsultation, bool> until, string what) => Eventually.UntilAsync(
        async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation, until, what);

    [Fact]
    public async Task Withdrawal_BeforeAReport_ReachesTheHub_TheExpertCanNoLongerReport_AndAReportedOneCannotBeWithdrawn()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var expert = network.Expert(await network.AssignedExpertTokenAsync(id));
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct).ResponseAsync, "reason");

        var withdrawn = (await network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = id, Reason = "患者が他院での治療を選択" }, cancellationToken: Ct)).Consultation;
        Assert.Equal((ConsultationStatus.Withdrawn, "患者が他院での治療を選択"), (withdrawn.Status, withdrawn.WithdrawalReason));
        var atHub = await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Withdrawn, "the withdrawal at the hub");
        Assert.Equal("患者が他院での治療を選択", atHub.WithdrawalReason);
        var refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => expert.SubmitReportAsync(Samples.Report(id), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("withdrawn", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(ConsultationStatus.Withdrawn, (await network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = id, Reason = "再送" }, cancellationToken: Ct)).Consultation.Status);
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Withdrawn && c.DeliveryError.Length == 0, "the withdrawal settled at the spoke");

        // A reported consultation: refused at the spoke, and at the hub when a node tries.
        var reported = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(reported);
        await network.Expert(await network.AssignedExpertTokenAsync(reported.ConsultationId)).SubmitReportAsync(Samples.Report(reported.ConsultationId), cancellationToken: Ct);
        await AtSpokeAsync(reported.ConsultationId, c => c.Status == ConsultationStatus.Reported, "the report at the spoke");
        var late = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = reported.ConsultationId, Reason = "遅すぎる" }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("is REPORTED", late.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => network.Sync(network.NodeTokenA).DeliverConsultationWithdrawalAsync(new()
        {
            ConsultationId = reported.ConsultationId, Reason = "遅すぎる", WithdrawnBy = "someone",
            WithdrawnAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Sync(network.NodeTokenB).DeliverConsultationWithdrawalAsync(new()
        {
            ConsultationId = reported.ConsultationId, Reason = "他院", WithdrawnBy = "someone",
            WithdrawnAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Acknowledgement_OfTheLatestReport_ReachesTheHub_WithTheTurnaroundsTimes_AndAnAmendmentAsksForItAgain()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var early = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => network.LocalA().AcknowledgeReportAsync(new() { ConsultationId = id }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("no report to acknowledge", early.Status.Detail, StringComparison.Ordinal);
        var expert = network.Expert(await network.AssignedExpertTokenAsync(id));
        await expert.SubmitReportAsync(Samples.Report(id), cancellationToken: Ct);
        await AtSpokeAsync(id, c => c.Reports.Count == 1, "the report at the spoke");

        var acknowledged = (await network.LocalA().AcknowledgeReportAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation;
        Assert.Equal((ConsultationStatus.Acknowledged, 1), (acknowledged.Status, acknowledged.AcknowledgedVersion));
        await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Status,
            status => status == ConsultationStatus.Acknowledged, "the acknowledgement at the hub");
        await using (var connection = await network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Storage.HubDatabase>().OpenAsync(Ct))
        await using (var command = RareCancerNetwork.Node.Storage.SqlCommands.Command(connection,
            "SELECT submitted_at, first_reported_at, acknowledged_at, acknowledged_version FROM consultations WHERE consultation_id = @id").With("@id", id))
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            Assert.True(await reader.ReadAsync(Ct));
            var (submitted, reportedAt, acknowledgedAt) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
            Assert.True(string.CompareOrdinal(submitted, reportedAt) <= 0 && string.CompareOrdinal(reportedAt, acknowledgedAt) <= 0, $"{submitted} ≤ {reportedAt} ≤ {acknowledgedAt}");
            Assert.Equal(1, reader.GetInt32(3));
        }

        // An amendment after the acknowledgement: reported again, to be acknowledged again (an old version is refused).
        var amendment = Samples.Report(id, replacesVersion: 1);
        amendment.AmendmentReason = "追加の免疫染色";
        await expert.SubmitReportAsync(amendment, cancellationToken: Ct);
        await AtSpokeAsync(id, c => c.Reports.Count == 2 && c.Status == ConsultationStatus.Reported, "the amendment at the spoke");
        var stale = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => network.LocalA().AcknowledgeReportAsync(new() { ConsultationId = id, ReportVersion = 1 }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("version 2 is", stale.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(2, (await network.LocalA().AcknowledgeReportAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.AcknowledgedVersion);
        await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Status,
            status => status == ConsultationStatus.Acknowledged, "the second acknowledgement at the hub");
        await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Acknowledged && c.DeliveryError.Length == 0, "acknowledged, settled at the spoke");
    }

    [Fact]
    public async Task InformationRequest_ReachesTheSpoke_TheAnswerReturnsItToTheExpert_InOrderAtBothEnds()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var expert = network.Expert(await network.AssignedExpertTokenAsync(id));
        await RpcAssert.InvalidFieldsAsync(() => expert.RequestInformationAsync(new() { ConsultationId = id, RequestId = "x" }, cancellationToken: Ct).ResponseAsync,
            "request_id", "question");
        var other = network.Expert(network.ExpertToken1 == await network.AssignedExpertTokenAsync(id) ? network.ExpertToken2 : network.ExpertToken1);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => other.RequestInformationAsync(new()
        {
            ConsultationId = id, RequestId = Guid.CreateVersion7().ToString(), Question = "?",
        }, cancellationToken: Ct).ResponseAsync);

        var first = new RequestInformationRequest { ConsultationId = id, RequestId = Guid.CreateVersion7().ToString(), Question = "CD34 と STAT6 の免疫染色を追加してください" };
        var asked = (await expert.RequestInformationAsync(first, cancellationToken: Ct)).Request;
        Assert.True((await expert.RequestInformationAsync(first, cancellationToken: Ct)).Duplicate);
        var oneAtATime = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => expert.RequestInformationAsync(new()
        {
            ConsultationId = id, RequestId = Guid.CreateVersion7().ToString(), Question = "別件",
        }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("one is open at a time", oneAtATime.Status.Detail, StringComparison.Ordinal);

        var atSpoke = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.InformationRequested && c.InformationRequests.Count == 1, "the request at the spoke");
        Assert.Equal(asked, atSpoke.InformationRequests[0]);
        await RpcAssert.InvalidFieldsAsync(() => network.LocalA().AnswerInformationRequestAsync(new()
        {
            ConsultationId = id, RequestId = asked.RequestId, Attachments = { new AttachmentDescriptor { FileName = "x" } },
        }, cancellationToken: Ct).ResponseAsync,
            "answer", "attachments[0].media_type", "attachments[0].size_bytes", "attachments[0].sha256_hex");
        var slide = new AttachmentDescriptor { FileName = "CD34_STAT6.svs", MediaType = "image/tiff", SizeBytes = 1_234_567, Sha256Hex = new string('c', 64) };
        var answered = (await network.LocalA().AnswerInformationRequestAsync(new()
        {
            ConsultationId = id, RequestId = asked.RequestId, Answer = "CD34 陽性、STAT6 陰性でした。標本を送付します。", Attachments = { slide },
        }, cancellationToken: Ct)).Consultation;
        Assert.Equal(ConsultationStatus.Assigned, answered.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => network.LocalA().AnswerInformationRequestAsync(new()
        {
            ConsultationId = id, RequestId = asked.RequestId, Answer = "再送",
        }, cancellationToken: Ct).ResponseAsync);

        var atHub = await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation,
            c => c.Status == ConsultationStatus.Assigned && c.InformationRequests.Count == 1 && c.InformationRequests[0].AnsweredAt is not null, "the answer at the hub");
        Assert.Equal(("CD34 陽性、STAT6 陰性でした。標本を送付します。", slide), (atHub.InformationRequests[0].Answer, atHub.InformationRequests[0].AnswerAttachments[0]));

        // A second request after the answer; then the report. Both ends list the requests in order.
        var second = (await expert.RequestInformationAsync(new() { ConsultationId = id, RequestId = Guid.CreateVersion7().ToString(), Question = "臨床経過（再発の有無）を教えてください" },
            cancellationToken: Ct)).Request;
        await AtSpokeAsync(id, c => c.InformationRequests.Count == 2, "the second request at the spoke");
        await network.LocalA().AnswerInformationRequestAsync(new() { ConsultationId = id, RequestId = second.RequestId, Answer = "再発なし" }, cancellationToken: Ct);
        await Eventually.UntilAsync(async () => (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Status,
            status => status == ConsultationStatus.Assigned, "the second answer at the hub");
        await expert.SubmitReportAsync(Samples.Report(id), cancellationToken: Ct);
        var done = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Reported && c.DeliveryError.Length == 0, "the report at the spoke");
        var hubSide = (await expert.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation;
        Assert.Equal([asked.RequestId, second.RequestId], done.InformationRequests.Select(r => r.RequestId));
        Assert.Equal(hubSide.InformationRequests.Select(r => (r.RequestId, r.Answer)), done.InformationRequests.Select(r => (r.RequestId, r.Answer)));
    }

    [Fact]
    public async Task Decline_GoesToTheNextExpert_ThenWaits_AndAnAdministratorReassigns_EveryStepInTheTimelineAtBothEnds()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var firstToken = await network.AssignedExpertTokenAsync(id);
        var secondToken = firstToken == network.ExpertToken1 ? network.ExpertToken2 : network.ExpertToken1;
        var (firstId, secondId) = firstToken == network.ExpertToken1 ? ("expert-one", "expert-two") : ("expert-two", "expert-one");
        await RpcAssert.InvalidFieldsAsync(() => network.Expert(firstToken).DeclineConsultationAsync(new() { ConsultationId = id, Reason = DeclineReason.Other },
            cancellationToken: Ct).ResponseAsync, "comment");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(secondToken).DeclineConsultationAsync(new()
        {
            ConsultationId = id, Reason = DeclineReason.OutOfSpecialty,
        }, cancellationToken: Ct).ResponseAsync);

        var next = await network.Expert(firstToken).DeclineConsultationAsync(new() { ConsultationId = id, Reason = DeclineReason.OutOfSpecialty, Comment = "骨軟部は専門外" },
            cancellationToken: Ct);
        Assert.Equal(secondId, next.NextExpertId);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(firstToken).GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct).ResponseAsync);
        var nobody = await network.Expert(secondToken).DeclineConsultationAsync(new() { ConsultationId = id, Reason = DeclineReason.ConflictOfInterest }, cancellationToken: Ct);
        Assert.Equal("", nobody.NextExpertId);

        var waiting = await AtSpokeAsync(id, c => c.Timeline.Any(s => s.Kind == ConsultationStepKind.WaitingForExpert), "the wait at the spoke");
        Assert.Equal(ConsultationStatus.Received, waiting.Status);
        var wait = waiting.Timeline.Last(s => s.Kind == ConsultationStepKind.WaitingForExpert);
        Assert.True(wait.QueuePosition >= 1);
        Assert.Contains("have declined it", wait.Detail, StringComparison.Ordinal);
        var store = network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Consultations.ConsultationStore>();
        Assert.Contains(await store.WaitingAsync(Ct), w => w.ConsultationId == id && w.Declines == 2);

        // The administrator gives it back to the first expert by hand.
        await store.ReassignAsync(id, firstId, "administrator", Ct);
        var reassigned = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned && c.Timeline.Any(s => s.Kind == ConsultationStepKind.Reassigned), "the reassignment");
        Assert.Equal(
        [
            ConsultationStepKind.Received, ConsultationStepKind.Assigned, ConsultationStepKind.Declined, ConsultationStepKind.Assigned,
            ConsultationStepKind.Declined, ConsultationStepKind.WaitingForExpert, ConsultationStepKind.Reassigned,
        ], reassigned.Timeline.Select(s => s.Kind));
        Assert.Equal([firstId, firstId, secondId, secondId],
            reassigned.Timeline.Where(s => s.Kind is ConsultationStepKind.Assigned or ConsultationStepKind.Declined).Select(s => s.ExpertId));
        Assert.Equal(("administrator", firstId), (reassigned.Timeline[^1].Actor, reassigned.Timeline[^1].ExpertId));
        var atHub = (await network.Expert(firstToken).GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation;
        Assert.Equal(reassigned.Timeline, atHub.Timeline);

        await network.Expert(firstToken).SubmitReportAsync(Samples.Report(id), cancellationToken: Ct);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => network.Expert(firstToken).DeclineConsultationAsync(new()
        {
            ConsultationId = id, Reason = DeclineReason.OverCapacity,
        }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task NobodyToAssign_TheSpokeSeesItWaitWithItsPlace_AdministratorsSeeIt_AndANewExpertTakesIt()
    {
        var submission = Samples.Submission(organ: OrganSystem.Eye);
        await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        var id = submission.ConsultationId;
        var waiting = await AtSpokeAsync(id, c => c.Timeline.Any(s => s.Kind == ConsultationStepKind.WaitingForExpert), "the wait at the spoke");
        var wait = waiting.Timeline.Single(s => s.Kind == ConsultationStepKind.WaitingForExpert);
        Assert.Contains("no active expert of eye", wait.Detail, StringComparison.Ordinal);
        Assert.True(wait.QueuePosition >= 1);
        var store = network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Consultations.ConsultationStore>();
        var listed = Assert.Single(await store.WaitingAsync(Ct), w => w.ConsultationId == id);
        Assert.Equal(OrganSystem.Eye, listed.OrganSystem);

        await network.Hub.RegisterExpertAsync($"eye-{Guid.CreateVersion7().ToString("N")[^6..]}", "眼科 専門医", 5, OrganSystem.Eye);
        var taken = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.Assigned && c.Timeline.Count == 3, "the new expert takes it");
        Assert.Equal([ConsultationStepKind.Received, ConsultationStepKind.WaitingForExpert, ConsultationStepKind.Assigned], taken.Timeline.Select(s => s.Kind));
        Assert.DoesNotContain(await store.WaitingAsync(Ct), w => w.ConsultationId == id);
    }

    [Fact]
    public async Task SecondReview_HoldsAMajorDiscordance_ReturnedThenApproved_ReleasedNamingBothExperts_SeenAtBothEnds()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var id = submission.ConsultationId;
        var authorToken = await network.AssignedExpertTokenAsync(id);
        var reviewerToken = authorToken == network.ExpertToken1 ? network.ExpertToken2 : network.ExpertToken1;
        var reviewerId = authorToken == network.ExpertToken1 ? "expert-two" : "expert-one";
        var author = network.Expert(authorToken);
        var reviewer = network.Expert(reviewerToken);
        var request = Samples.Report(id);
        request.RequestSecondReview = true;
        await RpcAssert.InvalidFieldsAsync(() => author.SubmitReportAsync(request, cancellationToken: Ct).ResponseAsync, "request_second_review");
        request.Concordance = Concordance.MajorDiscordance;

        var held = await author.SubmitReportAsync(request, cancellationToken: Ct);
        Assert.Equal((reviewerId, ""), (held.ReviewerExpertId, held.Report.SignatureJws));
        var waiting = await AtSpokeAsync(id, c => c.Status == ConsultationStatus.InSecondReview, "the second review at the spoke");
        Assert.Empty(waiting.Reports);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => author.SubmitReportAsync(Samples.Report(id), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => author.ReviewReportAsync(new() { ConsultationId = id, Approve = true }, cancellationToken: Ct).ResponseAsync);
        var listed = Assert.Single((await reviewer.ListSecondReviewsAsync(new(), cancellationToken: Ct)).Consultations, c => c.ConsultationId == id);
        Assert.Equal(held.Report, listed.DraftUnderReview);
        await RpcAssert.InvalidFieldsAsync(() => reviewer.ReviewReportAsync(new() { ConsultationId = id }, cancellationToken: Ct).ResponseAsync, "comment");

        // Returned with a comment: back to the author, who sends it again; then approved and released.
        var returned = await reviewer.ReviewReportAsync(new() { ConsultationId = id, Comment = "MDM2 FISH の結果を記載してください" }, cancellationToken: Ct);
        Assert.Equal(ConsultationStatus.Assigned, returned.Status);
        request.Comment += " MDM2 FISH 陽性。";
        await author.SubmitReportAsync(request, cancellationToken: Ct);
        var released = (await reviewer.ReviewReportAsync(new() { ConsultationId = id, Approve = true }, cancellationToken: Ct)).Report;
        Assert.Equal((1, reviewerId), (released.Version, released.ReviewedByExpertId));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => reviewer.ReviewReportAsync(new() { ConsultationId = id, Approve = true }, cancellationToken: Ct).ResponseAsync);

        // (A status change travels just ahead of its timeline step: wait for the step.)
        var atSpoke = await AtSpokeAsync(id, c => c.Reports.Count == 1 && c.Timeline[^1].Kind == ConsultationStepKind.Reported, "the released report at the spoke");
        Assert.Equal(released, atSpoke.Reports[0]);
        Assert.Equal(SignatureStatus.Valid, Assert.Single(atSpoke.SignatureChecks).Status);
        Assert.Equal(
        [
            ConsultationStepKind.SecondReviewRequested, ConsultationStepKind.SecondReviewReturned, ConsultationStepKind.SecondReviewRequested,
            ConsultationStepKind.SecondReviewApproved, ConsultationStepKind.Reported,
        ], atSpoke.Timeline.SkipWhile(s => s.Kind != ConsultationStepKind.SecondReviewRequested).Select(s => s.Kind));
        Assert.Equal(atSpoke.Timeline, (await author.GetAssignedConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation.Timeline);
        Assert.DoesNotContain((await reviewer.ListSecondReviewsAsync(new(), cancellationToken: Ct)).Consultations, c => c.ConsultationId == id);
    }

    [Fact]
    public async Task AWaitingCase_KnowsItsPlaceInTheQueue_AndMovesUpWhenTheOneAheadLeaves()
    {
        // Endocrine tumours have no expert on this network: both wait, the first ahead of the second.
        var first = Samples.Submission(organ: OrganSystem.Endocrine);
        var second = Samples.Submission(organ: OrganSystem.Endocrine);
        await network.LocalA().SubmitConsultationAsync(first, cancellationToken: Ct);
        await AtSpokeAsync(first.ConsultationId, c => c.QueuePosition > 0, "the first waits");
        await network.LocalA().SubmitConsultationAsync(second, cancellationToken: Ct);
        var behind = await AtSpokeAsync(second.ConsultationId, c => c.QueuePosition > 0, "the second waits");
        var ahead = (await network.LocalA().GetConsultationAsync(new() { ConsultationId = first.ConsultationId }, cancellationToken: Ct)).Consultation.QueuePosition;
        Assert.Equal(ahead + 1, behind.QueuePosition);

        await network.LocalA().WithdrawConsultationAsync(new() { ConsultationId = first.ConsultationId, Reason = "他院で診断確定" }, cancellationToken: Ct);
        await AtSpokeAsync(second.ConsultationId, c => c.QueuePosition == ahead, "the second moves up");
        await AtSpokeAsync(first.ConsultationId, c => c.QueuePosition == 0 && c.Status == ConsultationStatus.Withdrawn, "the first leaves the queue");
    }

    [Fact]
    public async Task JapaneseFreeText_RoundTripsByteForByte_SpokeToHubToSpoke()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var expertToken = await network.AssignedExpertTokenAsync(submission.ConsultationId);
        var atHub = (await network.Expert(expertToken).GetAssignedConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation;
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(Samples.JapaneseSummary), System.Text.Encoding.UTF8.GetBytes(atHub.Details.ClinicalSummary));
        Assert.Equal(submission.Details.ToByteArray(), atHub.Details.ToByteArray());

        var request = Samples.Report(submission.ConsultationId);
        request.Comment = "𠮷田先生へ：ＭＤＭ２増幅あり。半角ｶﾅ・全角英数・改行\r\nも保持。";
        await network.Expert(expertToken).SubmitReportAsync(request, cancellationToken: Ct);
        var atSpoke = await Eventually.UntilAsync(
            async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.Reports.Count == 1, "report reaches the spoke");
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(request.Comment), System.Text.Encoding.UTF8.GetBytes(atSpoke.Reports[0].Comment));
        Assert.Equal(submission.Details.ToByteArray(), atSpoke.Details.ToByteArray());
    }

    [Fact]
    public async Task Amendment_IsNewVersion_StaleVersionRefused()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var expert = network.Expert(await network.AssignedExpertTokenAsync(submission.ConsultationId));
        await expert.SubmitReportAsync(Samples.Report(submission.ConsultationId), cancellationToken: Ct);

        var stale = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => expert.SubmitReportAsync(Samples.Report(submission.ConsultationId, replacesVersion: 0), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("latest report version is 1", stale.Status.Detail, StringComparison.Ordinal);
        var noReason = Samples.Report(submission.ConsultationId, replacesVersion: 1);
        noReason.AmendmentReason = "";
        await RpcAssert.InvalidFieldsAsync(() => expert.SubmitReportAsync(noReason, cancellationToken: Ct).ResponseAsync, "amendment_reason");

        var amendment = Samples.Report(submission.ConsultationId, replacesVersion: 1);
        amendment.Concordance = Concordance.MinorDiscordance;
        var second = (await expert.SubmitReportAsync(amendment, cancellationToken: Ct)).Report;
        Assert.Equal(2, second.Version);

        var atSpoke = await Eventually.UntilAsync(
            async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.Reports.Count == 2, "both versions reach the spoke");
        Assert.Equal([1, 2], atSpoke.Reports.Select(r => r.Version));
        Assert.Equal(Concordance.Concordant, atSpoke.Reports[0].Concordance);
        Assert.Equal(Concordance.MinorDiscordance, atSpoke.Reports[1].Concordance);
    }

    /// <summary>
    /// A batched delivery answers each consultation as a delivery of one would: stored, a repeat, or refused alone
    /// (invalid with its field path, another node's, or a known id with other content) while the others are stored;
    /// a call with none, too many, or another facility's consultation is refused whole and stores nothing.
    /// </summary>
    [Fact]
    public async Task BatchedDelivery_AnswersEachConsultation_AndRefusesOnlyTheFaultyOnes()
    {
        var sync = network.Sync(network.NodeTokenA);
        var ofB = Samples.Delivery(TestNetwork.FacilityB, 'b');
        await network.Sync(network.NodeTokenB).DeliverConsultationAsync(ofB, cancellationToken: Ct);
        var known = Samples.Delivery(TestNetwork.FacilityA, 'c');
        await sync.DeliverConsultationAsync(known, cancellationToken: Ct);
        var changedKnown = known.Clone();
        changedKnown.Details.Question = "別の質問";
        var invalid = Samples.Delivery(TestNetwork.FacilityA, 'e');
        invalid.PatientPseudonym = "not-a-pseudonym";
        var (first, second) = (Samples.Delivery(TestNetwork.FacilityA, 'f'), Samples.Delivery(TestNetwork.FacilityA, '1'));
        second.Details.ClinicalSummary = "左大腿部の軟部腫瘍 𠮷野家";
        var ofBUnderA = ofB.Clone();
        ofBUnderA.RequestingFacilityCode = TestNetwork.FacilityA;

        var answer = await sync.DeliverConsultationsAsync(new() { Consultations = { first, known, invalid, changedKnown, ofBUnderA, second, first } }, cancellationToken: Ct);

        Assert.Equal([first.ConsultationId, known.ConsultationId, invalid.ConsultationId, known.ConsultationId, ofB.ConsultationId, second.ConsultationId, first.ConsultationId],
            answer.Results.Select(r => r.ConsultationId));
        Assert.Equal([ConsultationDeliveryOutcome.Stored, ConsultationDeliveryOutcome.Duplicate, ConsultationDeliveryOutcome.Refused, ConsultationDeliveryOutcome.Refused,
                ConsultationDeliveryOutcome.Refused, ConsultationDeliveryOutcome.Stored, ConsultationDeliveryOutcome.Duplicate],
            answer.Results.Select(r => r.Outcome));
        Assert.Equal(("INVALID_ARGUMENT", true), (answer.Results[2].Refusal, answer.Results[2].Message.Contains("consultations[2].patient_pseudonym", StringComparison.Ordinal)));
        Assert.Equal(("ALREADY_EXISTS", true), (answer.Results[3].Refusal, answer.Results[3].Message.Contains("different content", StringComparison.Ordinal)));
        Assert.Equal(("PERMISSION_DENIED", true), (answer.Results[4].Refusal, answer.Results[4].Message.Contains("another spoke node", StringComparison.Ordinal)));
        Assert.Equal(answer.Results[0].ReceivedAt, answer.Results[6].ReceivedAt);
        Assert.Contains(answer.Results[0].Status, new[] { ConsultationStatus.Received, ConsultationStatus.Assigned });
        // Stored once each, the Japanese text exactly; the refused ones as they were.
        Assert.Equal(1, await network.Hub.CountAsync("consultations", "consultation_id", first.ConsultationId));
        Assert.Equal(0, await network.Hub.CountAsync("consultations", "consultation_id", invalid.ConsultationId));
        async Task<ConsultationDetails> DetailsAtHubAsync(string consultationId)
        {
            await using var connection = await network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Storage.HubDatabase>().OpenAsync(Ct);
            await using var command = connection.Command("SELECT details FROM consultations WHERE consultation_id = @id").With("@id", consultationId);
            return ConsultationDetails.Parser.ParseFrom((byte[])(await command.ExecuteScalarAsync(Ct))!);
        }
        Assert.Equal("左大腿部の軟部腫瘍 𠮷野家", (await DetailsAtHubAsync(second.ConsultationId)).ClinicalSummary);
        Assert.Equal(known.Details.Question, (await DetailsAtHubAsync(known.ConsultationId)).Question);

        // Refused whole: nothing, too many, another facility's.
        var none = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => sync.DeliverConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("consultations", none.Status.Detail, StringComparison.Ordinal);
        var tooMany = new DeliverConsultationsRequest();
        tooMany.Consultations.AddRange(Enumerable.Range(0, ContractLimits.ConsultationsPerDelivery + 1).Select(_ => Samples.Delivery(TestNetwork.FacilityA, 'a')));
        var many = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => sync.DeliverConsultationsAsync(tooMany, cancellationToken: Ct).ResponseAsync);
        Assert.Contains($"1-{ContractLimits.ConsultationsPerDelivery}", many.Status.Detail, StringComparison.Ordinal);
        var foreign = Samples.Delivery(TestNetwork.FacilityB, 'a');
        var fresh = Samples.Delivery(TestNetwork.FacilityA, 'a');
        var denied = await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => sync.DeliverConsultationsAsync(new() { Consultations = { fresh, foreign } }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("consultations[1].requesting_facility_code", denied.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, await network.Hub.CountAsync("consultations", "consultation_id", [fresh.ConsultationId, foreign.ConsultationId]));
    }

    [Fact]
    public async Task SameSubmissionDeliveredTwice_OneConsultation()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var again = await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        Assert.True(again.Duplicate);
        Assert.Equal(submission.ConsultationId, again.Consultation.ConsultationId);

        // The node re-delivers exactly what its outbox sent (as after a lost answer): one consultation.
        var delivery = Samples.Delivery(TestNetwork.FacilityA, 'b');
        var sync = network.Sync(network.NodeTokenA);
        var first = await sync.DeliverConsultationAsync(delivery, cancellationToken: Ct);
        var second = await sync.DeliverConsultationAsync(delivery, cancellationToken: Ct);
        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.ReceivedAt, second.ReceivedAt);

        var changed = delivery.Clone();
        changed.Details.Question = "別の質問";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => sync.DeliverConsultationAsync(changed, cancellationToken: Ct).ResponseAsync);

        var fetched = await sync.FetchConsultationAsync(new() { ConsultationId = delivery.ConsultationId }, cancellationToken: Ct);
        Assert.Equal(delivery.ConsultationId, fetched.ConsultationId);
        var assignedAnywhere = 0;
        foreach (var token in new[] { network.ExpertToken1, network.ExpertToken2 })
        {
            var list = await network.Expert(token).ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct);
            assignedAnywhere += list.Consultations.Count(c => c.ConsultationId == delivery.ConsultationId);
        }
        Assert.Equal(1, assignedAnywhere);
    }

    [Fact]
    public async Task Assignment_GoesToAnExpertOfTheOrganSystem()
    {
        var bone = Samples.Submission(organ: OrganSystem.Bone);
        await network.SubmitAndAwaitAssignmentAsync(bone);
        var boneList = await network.Expert(network.BoneExpertToken).ListAssignedConsultationsAsync(new(), cancellationToken: Ct);
        Assert.Contains(boneList.Consultations, c => c.ConsultationId == bone.ConsultationId);
        foreach (var softTissueExpert in new[] { network.ExpertToken1, network.ExpertToken2 })
        {
            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(softTissueExpert)
                .GetAssignedConsultationAsync(new() { ConsultationId = bone.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        }
    }
}
