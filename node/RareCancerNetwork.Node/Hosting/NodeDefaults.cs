using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.RateLimiting;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Node.Hosting;

/// <summary>The gRPC pipeline every node runs, so hub and spokes enforce the same rules in the same order.</summary>
public static class NodeGrpc
{
    /// <param name="policies">The node's authorization table.</param>
    /// <param name="configurationSection">Where the node's settings live (<c>Hub</c> or <c>Spoke</c>).</param>
    /// <param name="database">The node's database, for the health check.</param>
    /// <param name="policyArguments">Extra arguments of <see cref="RpcPolicyInterceptor"/> (a spoke's node and facility).</param>
    public static IServiceCollection AddNodeGrpc(this IServiceCollection services, IReadOnlyDictionary<string, RpcPolicy> policies,
        string configurationSection, Func<IServiceProvider, SqliteDatabase> database, params object[] policyArguments)
    {
        // Note: every call needs an authenticated caller (health excepted); which caller may call which
        // RPC is the declared table, enforced by RpcPolicyInterceptor.
        services.AddAuthorization(authorization => authorization.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        // Singleton: the per-caller buckets must outlive a call.
        services.AddSingleton<RateLimitInterceptor>();
        services.AddOptions<RateLimitOptions>().BindConfiguration($"{configurationSection}:{RateLimitOptions.Section}").ValidateDataAnnotations().ValidateOnStart();
        services.AddGrpc(grpc =>
        {
            // Order matters: errors are mapped last, after the audit saw the domain failure and the policy decided.
            grpc.Interceptors.Add<ErrorMappingInterceptor>();
            grpc.Interceptors.Add<RateLimitInterceptor>();
            grpc.Interceptors.Add<AuditInterceptor>(policies);
            grpc.Interceptors.Add<RpcPolicyInterceptor>([policies, .. policyArguments]);
            grpc.MaxReceiveMessageSize = 4 * 1024 * 1024;
            grpc.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().Add(new HealthCheckRegistration(
            $"{configurationSection.ToLowerInvariant()}-database", provider => new SqliteDatabaseHealthCheck(database(provider)), null, null));
        return services;
    }
}
