using System.Diagnostics;
using Grpc.Core;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Several hub instances on one PostgreSQL database: nothing that must be unique lives in one process.
/// Events written through one instance wake subscribers of another; the same delivery through both at
/// once is stored once; a token from one is accepted by the other.
/// </summary>
[Collection("processes")]
public sealed class MultiInstanceHubTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConsultationLoop_WithASpokeOnEachInstance_AndEventsCrossingBetweenThem()
    {
        await using var hubs = await TwoHubInstances.StartAsync();
        var nodeX = await hubs.A.RegisterSpokeAsync("spoke-x", TestNetwork.FacilityA, hubs.Folder.Sub("spoke-x"));
        var nodeY = await hubs.B.RegisterSpokeAsync("spoke-y", TestNetwork.FacilityB, hubs.Folder.Sub("spoke-y"));
        var localX = await hubs.A.RegisterLocalClientAsync("spoke-x", "cli");
        var localY = await hubs.B.RegisterLocalClientAsync("spoke-y", "cli");
        var expert = await hubs.A.RegisterExpertAsync("expert-one", "佐藤 花子", 100, OrganSystem.SoftTissue);
        // Spoke X reaches only instance A, spoke Y only instance B; both take tokens from the one issuer.
        await using var spokeX = await SpokeNode.StartAsync(hubs.Folder.Sub("spoke-x"), hubs.ToA.Url, hubs.CaPath, "spoke-x", TestNetwork.FacilityA, nodeX, hubs.Issuer.Url);
        await using var spokeY = await SpokeNode.StartAsync(hubs.Folder.Sub("spoke-y"), hubs.ToB.Url, hubs.CaPath, "spoke-y", TestNetwork.FacilityB, nodeY, hubs.Issuer.Url);
        var expertToken = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, expert, NetworkClaims.Scopes.Expert);
        var clientX = LocalClient(spokeX, await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, localX, NetworkClaims.Scopes.Local));
        var clientY = LocalClient(spokeY, await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, localY, NetworkClaims.Scopes.Local));

        // Y's consultation arrives through B and is reported through A; X's the other way round.
        var atY = await SubmitAndAwaitAsync(clientY, ConsultationStatus.Assigned);
        var atX = await SubmitAndAwaitAsync(clientX, ConsultationStatus.Assigned);
        await Expert(hubs.ToA, hubs, expertToken).SubmitReportAsync(Samples.Report(atY.ConsultationId), cancellationToken: Ct);
        await Expert(hubs.ToB, hubs, expertToken).SubmitReportAsync(Samples.Report(atX.ConsultationId), cancellationToken: Ct);
        var reportedAtY = await AwaitAsync(clientY, atY.ConsultationId, ConsultationStatus.Reported);
        var reportedAtX = await AwaitAsync(clientX, atX.ConsultationId, ConsultationStatus.Reported);
        Assert.Equal("高分化型脂肪肉腫（異型脂肪腫様腫瘍）", Assert.Single(reportedAtY.Reports).Diagnosis.Text);
        Assert.Equal("MDM2増幅の確認を推奨します。", Assert.Single(reportedAtX.Reports).Comment);

        // Subscribed to B as spoke Y, an amendment written through A arrives within a second: B's subscriber
        // was woken by the database's notification (without it, B would read again only after 15 s).
        var nodeTokenY = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, nodeY, NetworkClaims.Scopes.Sync);
        var feedAtB = new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hubs.ToB.Url, hubs.CaPath, nodeTokenY, nodeY.Certificate));
        using var subscription = feedAtB.SubscribeEvents(new SubscribeEventsRequest { AfterSequence = 0 }, cancellationToken: Ct);
        while (await subscription.ResponseStream.MoveNext(Ct))
        {
            if (subscription.ResponseStream.Current.StatusChanged?.Status == ConsultationStatus.Reported)
            {
                break;
            }
        }
        var clock = Stopwatch.StartNew();
        await Expert(hubs.ToA, hubs, expertToken).SubmitReportAsync(Samples.Report(atY.ConsultationId, replacesVersion: 1), cancellationToken: Ct);
        var written = clock.Elapsed;
        Assert.True(await subscription.ResponseStream.MoveNext(Ct));
        var arrived = clock.Elapsed;
        Assert.Equal(2, subscription.ResponseStream.Current.ReportIssued.Version);
        Assert.True(arrived - written < TimeSpan.FromSeconds(1), $"the event reached B's subscriber {(arrived - written).TotalMilliseconds:F0} ms after A committed it");
    }

    [Fact]
    public async Task SameDelivery_SentToBothInstancesAtOnce_ManyTimes_IsStoredOnce()
    {
        await using var hubs = await TwoHubInstances.StartAsync();
        var node = await hubs.A.RegisterSpokeAsync("spoke-x", TestNetwork.FacilityA, hubs.Folder.Sub("spoke-x"));
        await hubs.A.RegisterExpertAsync("expert-one", "佐藤 花子", 1000, OrganSystem.SoftTissue);
        var token = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, node, NetworkClaims.Scopes.Sync);
        var viaA = new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hubs.ToA.Url, hubs.CaPath, token, node.Certificate));
        var viaB = new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hubs.ToB.Url, hubs.CaPath, token, node.Certificate));

        var deliveries = Enumerable.Range(0, 25).Select(_ => Samples.Delivery(TestNetwork.FacilityA)).ToList();
        var responses = await Task.WhenAll(deliveries.SelectMany(delivery => Enumerable.Range(0, 4).Select(attempt =>
            (attempt % 2 == 0 ? viaA : viaB).DeliverConsultationAsync(delivery, cancellationToken: Ct).ResponseAsync)));

        var byConsultation = responses.Select((response, index) => (Id: deliveries[index / 4].ConsultationId, Response: response)).GroupBy(r => r.Id).ToList();
        Assert.All(byConsultation, attempts =>
        {
            Assert.Equal(1, attempts.Count(a => !a.Response.Duplicate));
            Assert.Single(attempts.Select(a => a.Response.ReceivedAt).Distinct());
        });
        Assert.Equal(deliveries.Count, await hubs.CountAsync("SELECT COUNT(*) FROM consultations"));
        Assert.Equal(deliveries.Count, await hubs.CountAsync("SELECT open_cases FROM experts WHERE expert_id = 'expert-one'"));
        // Each consultation's events (received, assigned) once, numbered without a gap or a repeat.
        // (The feed also carries the directory's announcements, which have no consultation; and each status change has its timeline step.)
        Assert.Equal(deliveries.Count * 4, await hubs.CountAsync("SELECT COUNT(*) FROM spoke_events WHERE spoke_node_id = 'spoke-x' AND consultation_id <> ''"));
        Assert.Equal(await hubs.CountAsync("SELECT COUNT(*) FROM spoke_events WHERE spoke_node_id = 'spoke-x'"),
            await hubs.CountAsync("SELECT MAX(sequence) FROM spoke_events WHERE spoke_node_id = 'spoke-x'"));
    }

    [Fact]
    public async Task TokenIssuedByOneInstance_IsAcceptedByTheOther_AndRefusedWhenForged()
    {
        await using var hubs = await TwoHubInstances.StartAsync();
        var expert = await hubs.A.RegisterExpertAsync("expert-one", "佐藤 花子", 10, OrganSystem.SoftTissue);
        var node = await hubs.A.RegisterSpokeAsync("spoke-x", TestNetwork.FacilityA, hubs.Folder.Sub("spoke-x"));

        hubs.Issuer.Route(hubs.A.Port);
        var fromA = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, expert, NetworkClaims.Scopes.Directory);
        var nodeFromA = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, node, NetworkClaims.Scopes.Sync);
        hubs.Issuer.Route(hubs.B.Port);
        var fromB = await Clients.TokenAsync(hubs.Issuer.Url, hubs.CaPath, expert, NetworkClaims.Scopes.Directory);

        await Directory(hubs.ToB, hubs, fromA).ListPrefecturesAsync(new(), cancellationToken: Ct);
        await Directory(hubs.ToA, hubs, fromB).ListPrefecturesAsync(new(), cancellationToken: Ct);
        // A node's token from A, bound to its certificate, works at B with that certificate and not without it.
        var delivery = Samples.Delivery(TestNetwork.FacilityA);
        await new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hubs.ToB.Url, hubs.CaPath, nodeFromA, node.Certificate))
            .DeliverConsultationAsync(delivery, cancellationToken: Ct);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hubs.ToB.Url, hubs.CaPath, nodeFromA))
            .FetchConsultationAsync(new() { ConsultationId = delivery.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => Directory(hubs.ToB, hubs, fromA[..^4] + "AAAA").ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
    }

    private static async Task<LocalConsultation> SubmitAndAwaitAsync(LocalConsultationService.LocalConsultationServiceClient client, ConsultationStatus status)
    {
        var submission = Samples.Submission();
        await client.SubmitConsultationAsync(submission, cancellationToken: Ct);
        return await AwaitAsync(client, submission.ConsultationId, status);
    }

    private static Task<LocalConsultation> AwaitAsync(LocalConsultationService.LocalConsultationServiceClient client, string consultationId, ConsultationStatus status) =>
        Eventually.UntilAsync(
            async () => (await client.GetConsultationAsync(new() { ConsultationId = consultationId }, cancellationToken: Ct)).Consultation,
            c => c.Status == status, $"{consultationId} {status}");

    private static LocalConsultationService.LocalConsultationServiceClient LocalClient(SpokeNode spoke, string token) =>
        new(Clients.Channel(spoke.Url, spoke.CaPath, token));

    private static ExpertConsultationService.ExpertConsultationServiceClient Expert(TcpRelay instance, TwoHubInstances hubs, string token) =>
        new(Clients.Channel(instance.Url, hubs.CaPath, token));

    private static DirectoryService.DirectoryServiceClient Directory(TcpRelay instance, TwoHubInstances hubs, string token) =>
        new(Clients.Channel(instance.Url, hubs.CaPath, token));
}
