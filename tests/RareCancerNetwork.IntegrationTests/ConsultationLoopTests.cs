using Google.Protobuf;
using Grpc.Core;
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
