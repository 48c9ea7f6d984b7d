using System.Text.Json;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The reliability promises with real processes: the hub killed with SIGKILL, a submission accepted
/// while it is down, the spoke killed with the submission still queued, both restarted — nothing
/// acknowledged is lost and nothing is applied twice.
/// </summary>
[Collection("processes")]
public sealed class ProcessReliabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HubKilled_SubmissionAcceptedLocally_SpokeKilledAndRestarted_ArrivesOnceAfterHubReturns()
    {
        using var folder = new TempFolder("rcn-process");
        var port = NodeProcess.FreeLoopbackPort();
        var hubUrl = $"https://127.0.0.1:{port}/";
        var hubArgs = new[] { "--data", folder.Sub("hub"), "run", "--listen", $"https://127.0.0.1:{port}" };
        var spokeEnvironment = new Dictionary<string, string>
        {
            ["Spoke__Delivery__InitialBackoffSeconds"] = "0.2",
            ["Spoke__Delivery__MaxBackoffSeconds"] = "1",
        };

        var hub = NodeProcess.Start(NodeProcess.HubProgram, hubArgs);
        NodeProcess? spoke = null;
        try
        {
            await hub.WaitForLineAsync("Hub listening on");
            var admin = new[] { "--data", folder.Sub("hub"), "--hub-url", hubUrl };
            // The node creates its key pair; the administrator registers only the certificate.
            var certificateOutput = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "node-certificate", "--data", folder.Sub("spoke"), "--node-id", "spoke-osaka");
            var certificate = System.Text.RegularExpressions.Regex.Match(certificateOutput, @"Certificate: (\S+)").Groups[1].Value;
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-spoke", "--node-id", "spoke-osaka", "--facility", "CORE-010", "--certificate", certificate, "--write-config", folder.Sub("spoke.json")]);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-local-client", "--node-id", "spoke-osaka", "--name", "cli", "--write-config", folder.Sub("profile.json")]);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, [.. admin, "register-expert", "--expert-id", "kato", "--name", "加藤 恵", "--specialty", "soft_tissue", "--write-config", folder.Sub("expert.json")]);
            var localToken = await TokenFromProfileAsync(folder.Sub("profile.json"), NetworkClaims.Scopes.Local);
            var expertToken = await TokenFromProfileAsync(folder.Sub("expert.json"), NetworkClaims.Scopes.Expert);

            var spokeArgs = new[] { "run", "--config", folder.Sub("spoke.json"), "--data", folder.Sub("spoke"), "--listen", "https://127.0.0.1:0" };
            spoke = NodeProcess.Start(NodeProcess.SpokeProgram, spokeArgs, spokeEnvironment);
            var local = Local(await spoke.WaitForLineAsync(@"Spoke listening on (\S+)"), folder, localToken);

            // 1. Normal operation: delivered and assigned.
            var first = Samples.Submission("OSK-0001");
            await local.SubmitConsultationAsync(first, cancellationToken: Ct);
            await AwaitAtSpokeAsync(local, first.ConsultationId, c => c.Status == ConsultationStatus.Assigned);

            // 2. Hub killed: the spoke still accepts, stores and answers.
            hub.KillHard();
            var second = Samples.Submission("OSK-0002");
            var accepted = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
            Assert.Equal(ConsultationStatus.Submitted, accepted.Consultation.Status);
            Assert.Equal(DeliveryState.Pending, accepted.Consultation.DeliveryState);
            var listed = await local.ListConsultationsAsync(new(), cancellationToken: Ct);
            Assert.Contains(listed.Consultations, c => c.ConsultationId == second.ConsultationId);

            // 3. Spoke killed with the submission still in its outbox, then restarted.
            spoke.KillHard();
            spoke.Dispose();
            spoke = NodeProcess.Start(NodeProcess.SpokeProgram, spokeArgs, spokeEnvironment);
            var restartedUrl = await spoke.WaitForLineAsync(@"Spoke listening on (\S+)");

            // The restarted spoke still serves its users while the hub is away (hub keys kept on disk).
            var whileHubIsDown = await Local(restartedUrl, folder, localToken).GetConsultationAsync(new() { ConsultationId = second.ConsultationId }, cancellationToken: Ct);
            Assert.Equal(DeliveryState.Pending, whileHubIsDown.Consultation.DeliveryState);

            // 4. Hub back at the same address: the queued submission arrives by itself.
            hub.Dispose();
            hub = NodeProcess.Start(NodeProcess.HubProgram, hubArgs);
            await hub.WaitForLineAsync("Hub listening on");
            local = Local(restartedUrl, folder, localToken);
            var delivered = await AwaitAtSpokeAsync(local, second.ConsultationId, c => c.Status == ConsultationStatus.Assigned);
            Assert.Equal(DeliveryState.Delivered, delivered.DeliveryState);
            Assert.Equal("OSK-0002", delivered.LocalPatientId);

            // 5. The pathologist retries the same submission: recognised, not doubled.
            var retried = await local.SubmitConsultationAsync(second, cancellationToken: Ct);
            Assert.True(retried.Duplicate);

            // 6. The hub holds each consultation exactly once; the report flows back.
            var expert = new ExpertConsultationService.ExpertConsultationServiceClient(Clients.Channel(hubUrl, Path.Combine(folder.Sub("hub"), "tls", "dev-ca.crt"), expertToken));
            var assigned = (await expert.ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Consultations;
            Assert.Equal(new[] { first.ConsultationId, second.ConsultationId }.Order(), assigned.Select(c => c.ConsultationId).Order());
            await expert.SubmitReportAsync(Samples.Report(second.ConsultationId), cancellationToken: Ct);
            var reported = await AwaitAtSpokeAsync(local, second.ConsultationId, c => c.Reports.Count == 1);
            Assert.Equal(ConsultationStatus.Reported, reported.Status);
            var all = (await local.ListConsultationsAsync(new(), cancellationToken: Ct)).Consultations;
            Assert.Equal(2, all.Count);
        }
        finally
        {
            spoke?.Dispose();
            hub.Dispose();
        }
    }

    private static LocalConsultationService.LocalConsultationServiceClient Local(string url, TempFolder folder, string token) =>
        new(Clients.Channel(url, Path.Combine(folder.Sub("spoke"), "tls", "dev-ca.crt"), token));

    private static Task<LocalConsultation> AwaitAtSpokeAsync(LocalConsultationService.LocalConsultationServiceClient local, string id, Func<LocalConsultation, bool> done) =>
        Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = id }, cancellationToken: Ct)).Consultation, done, $"consultation {id} at the spoke");

    private static async Task<string> TokenFromProfileAsync(string path, string scope)
    {
        using var profile = JsonDocument.Parse(await File.ReadAllTextAsync(path, Ct));
        var root = profile.RootElement;
        var credentials = new IssuedCredentials(root.GetProperty("ClientId").GetString()!, root.GetProperty("ClientSecret").GetString()!, scope);
        return await Clients.TokenAsync(root.GetProperty("HubUrl").GetString()!, root.GetProperty("HubCaCertificatePath").GetString()!, credentials, scope);
    }
}
