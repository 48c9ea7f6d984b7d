using Google.Rpc;
using Grpc.Core;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Failures nobody planned for: the hub's database refuses one particular consultation (a trigger
/// stands in for any fault tied to one record). Clients get INTERNAL with a correlation id, the hub
/// keeps serving, and the spoke parks that delivery while the ones behind it arrive.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class FailureHandlingTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task PoisonAsync(string consultationId) => network.Hub.PoisonInsertAsync("consultations", "consultation_id", consultationId);

    /// <summary>
    /// The hub commits a delivery and its reply is lost on the way (the connection cut as the answer starts): the
    /// sender's retry gets the original result as a duplicate, and the hub holds one consultation.
    /// </summary>
    [Fact]
    public async Task AReplyLostAfterTheHubCommitted_TheRetryGetsTheOriginalResult_AndOneRowExists()
    {
        using var folder = new TempFolder("rcn-lost-reply");
        await using var link = new TcpRelay(network.Hub.Port);
        var node = await network.Hub.RegisterSpokeAsync("spoke-lost-reply", "CORE-010", folder.Sub("spoke"));
        // Through the relay: without an issuer configured, the hub names its tokens by the address they were asked at.
        var token = await Clients.TokenAsync(link.Url, network.Hub.CaPath, node, RareCancerNetwork.Node.Authorization.NetworkClaims.Scopes.Sync);
        var sync = new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(link.Url, network.Hub.CaPath, token, node.Certificate));

        // The cut may come before the hub committed (the first bytes back are not always the answer): then try another.
        DeliverConsultationRequest? lost = null;
        for (var attempt = 0; attempt < 10 && lost is null; attempt++)
        {
            var delivery = Samples.Delivery("CORE-010");
            // On a connection already open (a new one's TLS handshake would be cut instead).
            await sync.ReportSyncStatusAsync(new(), cancellationToken: Ct);
            link.CutNextReply();
            await Assert.ThrowsAsync<RpcException>(() => sync.DeliverConsultationAsync(delivery, cancellationToken: Ct).ResponseAsync);
            if (await network.Hub.CountAsync("consultations", "consultation_id", delivery.ConsultationId) == 1)
            {
                lost = delivery;
            }
        }
        Assert.NotNull(lost);

        var retried = await sync.DeliverConsultationAsync(lost, cancellationToken: Ct);
        Assert.True(retried.Duplicate);
        Assert.Equal(1, await network.Hub.CountAsync("consultations", "consultation_id", lost.ConsultationId));
    }

    [Fact]
    public async Task UnexpectedException_GivesInternalWithCorrelationId_WithoutItsText()
    {
        var poison = Samples.Delivery(TestNetwork.FacilityA);
        await PoisonAsync(poison.ConsultationId);

        var failure = await RpcAssert.FailsAsync(StatusCode.Internal,
            async () => await network.Sync(network.NodeTokenA).DeliverConsultationAsync(poison, cancellationToken: Ct));

        var correlationId = failure.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Metadata["correlation_id"];
        Assert.False(string.IsNullOrEmpty(correlationId));
        Assert.Contains(correlationId, failure.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("simulated storage fault", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnexpectedException_ServerKeepsServing_AndStoresNothingOfTheFailedCall()
    {
        var poison = Samples.Delivery(TestNetwork.FacilityA);
        await PoisonAsync(poison.ConsultationId);
        var sync = network.Sync(network.NodeTokenA);
        await RpcAssert.FailsAsync(StatusCode.Internal, async () => await sync.DeliverConsultationAsync(poison, cancellationToken: Ct));

        var healthy = await sync.DeliverConsultationAsync(Samples.Delivery(TestNetwork.FacilityA), cancellationToken: Ct);

        Assert.False(healthy.Duplicate);
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            async () => await sync.FetchConsultationAsync(new() { ConsultationId = poison.ConsultationId }, cancellationToken: Ct));
    }

    [Fact]
    public async Task PoisonDelivery_IsParked_WhileLaterOnesArrive()
    {
        var poison = Samples.Submission();
        await PoisonAsync(poison.ConsultationId);
        var local = network.LocalA();
        await local.SubmitConsultationAsync(poison, cancellationToken: Ct);
        var later = new[] { Samples.Submission(), Samples.Submission() };
        foreach (var request in later)
        {
            await local.SubmitConsultationAsync(request, cancellationToken: Ct);
        }

        foreach (var request in later)
        {
            await Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = request.ConsultationId }, cancellationToken: Ct)).Consultation,
                c => c.DeliveryState == DeliveryState.Delivered, $"later consultation {request.ConsultationId} delivered");
        }
        var parked = await Eventually.UntilAsync(
            async () => (await local.GetConsultationAsync(new() { ConsultationId = poison.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.DeliveryState == DeliveryState.Parked, "the poison consultation parked");
        Assert.StartsWith("Internal:", parked.DeliveryError, StringComparison.Ordinal);
        Assert.Equal(ConsultationStatus.Submitted, parked.Status);
    }
}
