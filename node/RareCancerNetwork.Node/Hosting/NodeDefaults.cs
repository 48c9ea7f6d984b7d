using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.RateLimiting;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Telemetry;
using RareCancerNetwork.Protos.Contract;

namespace RareCancerNetwork.Node.Hosting;

/// <summary>What sets one node apart in the pipeline every node runs.</summary>
/// <param name="ConfigurationSection">Where the node's settings live: <c>Hub</c> or <c>Spoke</c>.</param>
/// <param name="NodeId"><c>hub</c>, or the spoke's registered node id; audit entries carry it.</param>
/// <param name="Policies">The node's authorization table.</param>
/// <param name="ListenUrls">https URLs to listen on (validated).</param>
/// <param name="ServerCertificate">The TLS server certificate.</param>
/// <param name="SpokeFacilityCode">For a spoke: the facility whose people it serves (policy <see cref="InstitutionRule.ThisSpoke"/>).</param>
public sealed record NodeDescription(string ConfigurationSection, string NodeId, IReadOnlyDictionary<string, RpcPolicy> Policies,
    IReadOnlyList<string> ListenUrls, X509Certificate2 ServerCertificate, string? SpokeFacilityCode = null);

/// <summary>
/// The one place every node gets its listener and gRPC pipeline, so hub and spokes enforce the same
/// rules in the same order (like eShop's ServiceDefaults): <see cref="AddNodeDefaults"/> at start-up,
/// <see cref="MapNodeDefaults"/> once the app is built.
/// </summary>
public static class NodeDefaults
{
    /// <summary>
    /// Kestrel on the configured https URLs only, the gRPC pipeline (errors, rate limits, audit, policy),
    /// health and reflection, the node's audit trail and its database health check.
    /// </summary>
    /// <param name="builder">The host being built.</param>
    /// <param name="node">What sets this node apart.</param>
    /// <param name="database">The node's database (audit trail and health check).</param>
    /// <param name="onAuditAppended">Runs inside each audit append's transaction (a spoke queues the entry for the hub).</param>
    public static WebApplicationBuilder AddNodeDefaults(this WebApplicationBuilder builder, NodeDescription node,
        Func<IServiceProvider, IRelationalStore> database, AuditLog.AppendHook? onAuditAppended = null)
    {
        builder.WebHost.ConfigureKestrel(kestrel => NodeListener.Listen(kestrel, node.ListenUrls, node.ServerCertificate));
        var services = builder.Services;
        services.AddSingleton(node);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new AuditLog(database(provider), node.NodeId, provider.GetRequiredService<TimeProvider>(), onAuditAppended));

        // Note: every call needs an authenticated caller (health excepted); which caller may call which
        // RPC is the declared table, enforced by RpcPolicyInterceptor.
        services.AddAuthorization(authorization => authorization.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        // Singleton: the per-caller buckets must outlive a call.
        services.AddSingleton<RateLimitInterceptor>();
        services.AddOptions<RateLimitOptions>().BindConfiguration($"{node.ConfigurationSection}:{RateLimitOptions.Section}").ValidateDataAnnotations().ValidateOnStart();
        services.AddGrpc(grpc =>
        {
            // Order matters: errors are mapped outermost, after the audit saw the failure and the policy decided.
            grpc.Interceptors.Add<ErrorMappingInterceptor>();
            grpc.Interceptors.Add<RateLimitInterceptor>();
            grpc.Interceptors.Add<AuditInterceptor>();
            grpc.Interceptors.Add<RpcPolicyInterceptor>();
            grpc.MaxReceiveMessageSize = ContractLimits.MaxMessageBytes;
            grpc.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        builder.AddNodeTelemetry(node);
        services.AddGrpcHealthChecks().Add(new HealthCheckRegistration(
            $"{node.ConfigurationSection.ToLowerInvariant()}-database", provider => new DatabaseHealthCheck(database(provider)), null, null));
        return builder;
    }

    /// <summary>
    /// Audit of refused authentication, authentication and authorization middleware, and the anonymous
    /// health service and reflection. A host adds its own middleware before this and its services after.
    /// </summary>
    public static WebApplication MapNodeDefaults(this WebApplication app)
    {
        app.UseMiddleware<AuthenticationFailureAuditMiddleware>();
        app.UseNodeAuthentication();
        app.UseAuthorization();
        // Note: health is anonymous so that load balancers and probes can use it; it reveals nothing.
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService();
        app.MapNodeTelemetry();
        // The audit trail's length, read at each scrape (a count, no content).
        var audit = app.Services.GetRequiredService<AuditLog>();
        var registration = NodeGauges.Register(NodeGauges.AuditChainLength, audit.NodeId, () => audit.LengthAsync(CancellationToken.None).GetAwaiter().GetResult());
        app.Lifetime.ApplicationStopped.Register(registration.Dispose);
        return app;
    }
}
