using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Telemetry;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Metrics and traces on real nodes: the scrape endpoint answers only its token and shows the standard and the product's
/// instruments; one consultation's trace runs from the spoke's API through the outbox and the gRPC hop to the hub's store;
/// neither carries the patient's local id or pseudonym.
/// </summary>
public sealed class TelemetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string ScrapeToken = "scrape-token-for-tests-0123456789";

    [Fact]
    public async Task Metrics_OnlyForTheScrapeToken_ShowTheInstruments_AndATraceSpansSpokeAndHub_WithNoPatientData()
    {
        var finished = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is NodeTelemetry.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = finished.Add,
        };
        ActivitySource.AddActivityListener(listener);

        using var folder = new TempFolder("rcn-telemetry");
        // Spans are made when a collector is configured: one that refuses connections (nothing listens on the discard port),
        // as the spans are read here from the process itself.
        const string collector = "http://127.0.0.1:9";
        var telemetry = new Dictionary<string, string?> { ["Hub:Telemetry:ScrapeToken"] = ScrapeToken, ["Hub:Telemetry:OtlpEndpoint"] = collector };
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: telemetry);
        Assert.NotNull(hub.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        var node = await hub.RegisterSpokeAsync("spoke-t", "CORE-004", folder.Sub("spoke"));
        await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-t", "CORE-004", node,
            extra: new Dictionary<string, string?> { ["Spoke:Telemetry:ScrapeToken"] = ScrapeToken, ["Spoke:Telemetry:OtlpEndpoint"] = collector,
                ["Spoke:Delivery:StatusReportSeconds"] = "1" });
        var localToken = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-t", "pathology"), NetworkClaims.Scopes.Local);
        var local = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath, localToken));

        var submission = Samples.Submission();
        await local.SubmitConsultationAsync(submission, cancellationToken: Ct);
        await Eventually.UntilAsync(async () => (await local.GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct))
            .Consultation.Status, status => status != ConsultationStatus.Submitted, "the consultation at the hub");
        var pseudonym = await PseudonymAtHubAsync(hub, submission.ConsultationId);

        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        async Task<(HttpStatusCode Status, string Body)> ScrapeAsync(string url, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(url), NodeTelemetry.MetricsPath));
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            using var response = await http.SendAsync(request, Ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(hub.Url, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(hub.Url, "not-the-token")).Status);

        var hubMetrics = await ScrapeAsync(hub.Url, ScrapeToken);
        Assert.Equal(HttpStatusCode.OK, hubMetrics.Status);
        Assert.Contains("http_server_request_duration_seconds", hubMetrics.Body, StringComparison.Ordinal);
        Assert.Contains("rcn_audit_chain_length", hubMetrics.Body, StringComparison.Ordinal);
        // The refused scrapes above were token failures.
        Assert.Contains("rcn_auth_token_failures", hubMetrics.Body, StringComparison.Ordinal);
        var spokeMetrics = await Eventually.UntilAsync(() => ScrapeAsync(spoke.Url, ScrapeToken),
            m => m.Body.Contains("rcn_outbox_delivery_latency_seconds", StringComparison.Ordinal) && m.Body.Contains("rcn_feed_lag", StringComparison.Ordinal),
            "the spoke's instruments");
        Assert.Contains("rcn_outbox_pending", spokeMetrics.Body, StringComparison.Ordinal);
        Assert.Contains("rcn_outbox_parked", spokeMetrics.Body, StringComparison.Ordinal);

        // One trace: the spoke's SubmitConsultation, its delivery from the outbox, the hub's store write. The listener hears every
        // node of this process (other tests' too), so the store span is this spoke's by its tag; and the spans end in any order
        // (a request's own span ends after its response is written, perhaps after the delivery it queued was stored).
        var stored = await Eventually.UntilAsync(() => Task.FromResult(finished.FirstOrDefault(a => a.Source.Name == NodeTelemetry.SourceName
            && a.OperationName == "store consultations" && a.GetTagItem("rcn.spoke_node") as string == "spoke-t")), a => a is not null, "the hub's store span");
        static bool Request(Activity a, string rpc) =>
            a.Source.Name == "Microsoft.AspNetCore" && (a.GetTagItem("url.path")?.ToString() ?? a.DisplayName).Contains(rpc, StringComparison.Ordinal);
        var trace = await Eventually.UntilAsync(() => Task.FromResult(finished.Where(a => a.TraceId == stored!.TraceId).ToList()),
            spans => spans.Any(a => Request(a, "LocalConsultationService/SubmitConsultation")) && spans.Any(a => Request(a, "SpokeSyncService/DeliverConsultations")),
            "the whole trace");
        Assert.Contains(trace, a => Request(a, "LocalConsultationService/SubmitConsultation"));
        Assert.Contains(trace, a => a.OperationName == "deliver deliver_consultation");
        Assert.Contains(trace, a => Request(a, "SpokeSyncService/DeliverConsultations"));

        // No patient data in any metric or in any span of the run.
        foreach (var secret in new[] { submission.LocalPatientId, pseudonym })
        {
            Assert.DoesNotContain(secret, hubMetrics.Body + spokeMetrics.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(finished, a => a.DisplayName.Contains(secret, StringComparison.Ordinal)
                || a.TagObjects.Any(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true));
        }
    }

    [Fact]
    public async Task WithoutACollector_NoSpansAreMade_MetricsAreStillServed()
    {
        using var folder = new TempFolder("rcn-telemetry-none");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        // Nothing could read a span: none is made (it cost a twentieth of a read's CPU, docs/benchmarks.md).
        Assert.Null(hub.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        Assert.NotNull(hub.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
    }

    private static async Task<string> PseudonymAtHubAsync(HubNode hub, string consultationId)
    {
        await using var connection = await hub.Services.GetRequiredService<HubDatabase>().OpenAsync(Ct);
        await using var command = connection.Command("SELECT patient_pseudonym FROM consultations WHERE consultation_id = @id").With("@id", consultationId);
        return (string)(await command.ExecuteScalarAsync(Ct))!;
    }
}
