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
