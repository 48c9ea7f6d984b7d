using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The reliability promises with real processes: the hub killed with SIGKILL, a submission accepted
/// while it is down, the spoke killed with the submission still queued, both restarted — nothing
/// acknowledged is lost and nothing is applied twice.
/// </summary>
[Collection("processes")]
[Trait(ProcessNetwork.HubStoreTrait, ProcessNetwork.OwnHubStore)]
public sealed class ProcessReliabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HubKilled_SubmissionAcceptedLocally_SpokeKilledAndRestarted_ArrivesOnceAfterHubReturns()
    {
        using var folder = new TempFolder("rcn-process");
        using var network = await ProcessNetwork.StartAsync(folder);
        var local = network.Local();

        // 1. Normal operation: delivered and assigned.
        var first = Samples.Submission("OSK-0001");
        await local.SubmitConsultationAsync(first, cancellationToken: Ct);
        await network.AtSpokeAsync(first.ConsultationId, c => c.Status == ConsultationStatus.Assigned, "the first consultation assigned");

        // 2. Hub killed: the spoke still accepts, stores and answers.
        network.Hub.KillHard();
        var second = Samples.Submission("OSK-0002");
        var accepted = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
        Assert.Equal(ConsultationStatus.Submitted, accepted.Consultation.Status);
        Assert.Equal(DeliveryState.Pending, accepted.Consultation.DeliveryState);
        var listed = await local.ListConsultationsAsync(new(), cancellationToken: Ct);
        Assert.Contains(listed.Consultations, c => c.ConsultationId == second.ConsultationId);

        // 3. Spoke killed with the submission still in its outbox, then restarted.
        network.Spoke.KillHard();
        await network.StartSpokeAsync();

        // The restarted spoke still serves its users while the hub is away (hub keys kept on disk).
        var whileHubIsDown = await network.Local().GetConsultationAsync(new() { ConsultationId = second.ConsultationId }, cancellationToken: Ct);
        Assert.Equal(DeliveryState.Pending, whileHubIsDown.Consultation.DeliveryState);

        // 4. Hub back at the same address: the queued submission arrives by itself.
        await network.StartHubAsync();
        local = network.Local();
        var delivered = await network.AtSpokeAsync(second.ConsultationId, c => c.Status == ConsultationStatus.Assigned, "the queued consultation assigned");
        Assert.Equal(DeliveryState.Delivered, delivered.DeliveryState);
        Assert.Equal("OSK-0002", delivered.LocalPatientId);

        // 5. The pathologist retries the same submission: recognised, not doubled.
        var retried = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
        Assert.True(retried.Duplicate);

        // 6. The hub holds each consultation exactly once; the report flows back.
        var expert = network.Expert();
        var assigned = (await expert.ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Consultations;
        Assert.Equal(new[] { first.ConsultationId, second.ConsultationId }.Order(), assigned.Select(c => c.ConsultationId).Order());
        await expert.SubmitReportAsync(Samples.Report(second.ConsultationId), cancellationToken: Ct);
        var reported = await network.AtSpokeAsync(second.ConsultationId, c => c.Reports.Count == 1, "the report at the spoke");
        Assert.Equal(ConsultationStatus.Reported, reported.Status);
        var all = (await local.ListConsultationsAsync(new(), cancellationToken: Ct)).Consultations;
        Assert.Equal(2, all.Count);
    }
}
