using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Node.Telemetry;

/// <summary>A node's telemetry settings (section <c>Hub:Telemetry</c> or <c>Spoke:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The bearer token a Prometheus scraper sends (<c>authorization: Bearer …</c>); without one, /metrics answers nobody.</summary>
    public string? ScrapeToken { get; set; }

    /// <summary>Serve /metrics to anyone (a scraper on a closed management network); off by default.</summary>
    public bool AnonymousScrape { get; set; }

    /// <summary>An OpenTelemetry collector (OTLP) to send traces and metrics to, e.g. http://otel.example.jp:4317; none by default.</summary>
    public string? OtlpEndpoint { get; set; }
}

/// <summary>
/// Metrics and traces of every node (OpenTelemetry): the standard ASP.NET Core, HTTP client (the gRPC calls to the hub)
/// and runtime instruments, and the product's own; a Prometheus scrape endpoint at <c>/metrics</c> that is not anonymous
/// unless configured; traces with W3C trace context, carried across the gRPC hop and through a spoke's outbox, sent to an
/// OpenTelemetry collector when one is configured. No label,
/// tag or span attribute carries patient data: the product's instruments are counts, and request spans name routes.
/// </summary>
public static class NodeTelemetry
{
    public const string SourceName = "RareCancerNetwork";
    public const string MetricsPath = "/metrics";

    /// <summary>The product's spans (a delivery from the outbox, the hub's store write).</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The product's instruments.</summary>
    public static readonly Meter Meter = new(SourceName);

    /// <summary>Calls refused because their token was missing, invalid, expired or revoked.</summary>
    public static readonly Counter<long> TokenFailures = Meter.CreateCounter<long>("rcn.auth.token_failures", description: "Calls refused for their token");

    /// <summary>From queued at the spoke to acknowledged by the hub.</summary>
    public static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram<double>("rcn.outbox.delivery_latency", "s",
        "From queued at the spoke to acknowledged by the hub");

    public static WebApplicationBuilder AddNodeTelemetry(this WebApplicationBuilder builder, NodeDescription node)
    {
        var options = builder.Configuration.GetSection($"{node.ConfigurationSection}:Telemetry").Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddSingleton(options);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(node.ConfigurationSection == "Hub" ? "rcn-hub" : "rcn-spoke", serviceInstanceId: node.NodeId))
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation().AddMeter(SourceName).AddPrometheusExporter();
                if (options.OtlpEndpoint is { Length: > 0 } endpoint)
                {
                    metrics.AddOtlpExporter(otlp => otlp.Endpoint = new Uri(endpoint));
                }
            });
        // Spans only when there is a collector to send them to: without one, each request's span was made, enriched and
        // dropped (about a twentieth of the CPU of an authenticated read), and nothing could ever read it.
        if (options.OtlpEndpoint is { Length: > 0 } collector)
        {
            telemetry.WithTracing(tracing =>
            {
                // Request spans name the route and status, never a query string or body.
                tracing.AddSource(SourceName)
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = http => http.Request.Path != MetricsPath)
                    .AddHttpClientInstrumentation()
                    .AddOtlpExporter(otlp => otlp.Endpoint = new Uri(collector));
            });
        }
        return builder;
    }

    /// <summary>The scrape endpoint, answered only to the configured token (or to anyone, when so configured).</summary>
    public static WebApplication MapNodeTelemetry(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<TelemetryOptions>();
        app.UseWhen(http => http.Request.Path == MetricsPath, branch => branch.Use(async (http, next) =>
        {
            if (!options.AnonymousScrape && !Authorized(http, options.ScrapeToken))
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                http.Response.Headers.WWWAuthenticate = "Bearer";
                await http.Response.WriteAsync(options.ScrapeToken is null
                    ? "Metrics are served to a scraper with the configured token (Telemetry:ScrapeToken), or to anyone with Telemetry:AnonymousScrape."
                    : "Send the scrape token as 'Authorization: Bearer …'.");
                return;
            }
            await next(http);
        }));
        app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        return app;
    }

    private static bool Authorized(HttpContext http, string? token)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (token is not { Length: > 0 } || !header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }
        // Constant time: the comparison must not tell a prober how much of the token it guessed.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..]), Encoding.UTF8.GetBytes(token));
    }
}

/// <summary>
/// The product's gauges, one instrument each, read from every node of the process that registered a reading (one in
/// production; several in tests), each measurement tagged with its node id — never with anything about a patient.
/// </summary>
public static class NodeGauges
{
    public const string AuditChainLength = "rcn.audit.chain_length";
    public const string OutboxPending = "rcn.outbox.pending";
    public const string OutboxParked = "rcn.outbox.parked";
    public const string FeedLag = "rcn.feed.lag";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Gauge, string Node), Func<long>> Readings = new();

    static NodeGauges()
    {
        foreach (var (name, description) in new[]
        {
            (AuditChainLength, "Entries in the node's hash-chained audit trail"),
            (OutboxPending, "Deliveries waiting in the spoke's outbox"),
            (OutboxParked, "Deliveries parked for an operator"),
            (FeedLag, "Events of the spoke's feed at the hub not yet applied"),
        })
        {
            NodeTelemetry.Meter.CreateObservableGauge(name, () => Readings.Where(r => r.Key.Gauge == name)
                .Select(r => new Measurement<long>(r.Value(), new KeyValuePair<string, object?>("rcn.node", r.Key.Node))), description: description);
        }
    }

    /// <summary>Adds a node's reading of a gauge until the returned handle is disposed (the node stops).</summary>
    public static IDisposable Register(string gauge, string nodeId, Func<long> read)
    {
        Readings[(gauge, nodeId)] = read;
        return new Registration(gauge, nodeId);
    }

    private sealed class Registration(string gauge, string nodeId) : IDisposable
    {
        public void Dispose() => Readings.TryRemove((gauge, nodeId), out _);
    }
}
