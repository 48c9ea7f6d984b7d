using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Outbox;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Hub and spoke name their contract versions on every call: a hub serves its own version and the one before; any other
/// pair refuses with the side to upgrade, and the spoke keeps everything queued until the versions match.
/// </summary>
public sealed class ContractVersionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Incompatibility_NamesTheSideToUpgrade()
    {
        Assert.Null(ContractVersion.Incompatibility(5, 5));
        Assert.Null(ContractVersion.Incompatibility(4, 5));
        var older = ContractVersion.Incompatibility(3, 5)!.Value;
        Assert.Equal(ContractVersion.UpgradeSpoke, older.Reason);
        Assert.Contains("Upgrade the spoke", older.Message, StringComparison.Ordinal);
        var newer = ContractVersion.Incompatibility(6, 5)!.Value;
        Assert.Equal(ContractVersion.UpgradeHub, newer.Reason);
        Assert.Contains("Upgrade the hub", newer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASpokeAheadOfTheHub_IsRefusedWithTheSideToUpgrade_KeepsItsConsultationQueued_AndDeliversItOnceTheVersionsMatch()
    {
        using var folder = new TempFolder("rcn-contract");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-v", "CORE-004", folder.Sub("spoke"));
        var localToken = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-v", "pathology"), NetworkClaims.Scopes.Local);

        // The hub itself: the version before its own is served (a spoke from before versions were exchanged sends none);
        // a newer one is refused, with the reason and the side to upgrade.
        var nodeToken = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Sync);
        var sync = new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hub.Url, hub.CaPath, nodeToken, node.Certificate));
        Metadata Version(int version) => new() { { ContractVersion.Header, version.ToString(CultureInfo.InvariantCulture) } };
        await sync.ReportSyncStatusAsync(new(), headers: Version(ContractVersion.OldestServedSpoke), cancellationToken: Ct);
        await sync.ReportSyncStatusAsync(new(), cancellationToken: Ct);
        var refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => sync.ReportSyncStatusAsync(new(), headers: Version(ContractVersion.Current + 1), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("Upgrade the hub", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(ContractVersion.UpgradeHub, refused.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);

        // A spoke one version ahead (a drill): its consultation stays queued, never refused or parked, and its status says why.
        var ahead = new Dictionary<string, string?>
        {
            ["Spoke:Hub:ContractVersionOverride"] = (ContractVersion.Current + 1).ToString(CultureInfo.InvariantCulture),
            ["Spoke:Delivery:StatusReportSeconds"] = "1",
        };
        var submission = Samples.Submission();
        await using (var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-v", "CORE-004", node, extra: ahead))
        {
            var local = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath, localToken));
            await local.SubmitConsultationAsync(submission, cancellationToken: Ct);
            var contact = await Eventually.UntilAsync(() => spoke.Services.GetRequiredService<HubContactStore>().ReadAsync(Ct),
                c => c.Failing && c.LastFailure!.Contains("Upgrade the hub", StringComparison.Ordinal), "the refusal in the spoke's status");
            Assert.Null(contact.LastContactAt);
            var outbox = await spoke.Services.GetRequiredService<OutboxStore>().StatusAsync(Ct);
            Assert.Equal((0, 0), (outbox.Refused, outbox.Parked.Count));
            Assert.True(outbox.Pending >= 1);
            Assert.Equal(ConsultationStatus.Submitted,
                (await local.GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation.Status);
            Assert.Equal(0, await HubConsultationsAsync(hub, submission.ConsultationId));
        }

        // The spoke as it really is (the hub's version): the queued consultation arrives, once, and the hub knows the versions.
        await using (var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-v", "CORE-004", node,
            extra: new Dictionary<string, string?> { ["Spoke:Delivery:StatusReportSeconds"] = "1" }))
        {
            await Eventually.UntilAsync(() => HubConsultationsAsync(hub, submission.ConsultationId), count => count == 1, "the consultation at the hub");
            var status = await Eventually.UntilAsync(
                async () => (await hub.Services.GetRequiredService<RareCancerNetwork.Hub.Sync.SpokeSyncStatusStore>().ListAsync(Ct)).Single(s => s.NodeId == "spoke-v"),
                s => s.ContractVersion == ContractVersion.Current && s.SchemaVersion > 0, "the spoke's versions at the hub");
            Assert.Equal(0, status.Parked);
            var contact = await Eventually.UntilAsync(() => spoke.Services.GetRequiredService<HubContactStore>().ReadAsync(Ct), c => !c.Failing, "contact again");
            Assert.Equal(ContractVersion.Current, contact.HubContractVersion);
        }
    }

    private static Task<long> HubConsultationsAsync(HubNode hub, string consultationId) => hub.CountAsync("consultations", "consultation_id", consultationId);
}
