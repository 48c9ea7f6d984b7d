using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.Node.RateLimiting;

/// <summary>Per-caller request budget (section <c>RateLimit</c> of each node).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Sustained calls per second per client or person.</summary>
    [Range(1, 100_000)]
    public int RequestsPerSecond { get; set; } = 50;

    /// <summary>Calls that may arrive at once before the sustained rate applies.</summary>
    [Range(1, 100_000)]
    public int Burst { get; set; } = 200;

    /// <summary>
    /// Sustained calls per second per spoke node: sized for a node draining a backlog after an outage
    /// (it also honours the RetryInfo delay it gets when over budget).
    /// </summary>
    [Range(1, 100_000)]
    public int NodeRequestsPerSecond { get; set; } = 1_000;

    /// <summary>Calls a spoke node may make at once before its sustained rate applies.</summary>
    [Range(1, 100_000)]
    public int NodeBurst { get; set; } = 2_000;

    /// <summary>Sustained calls per second from one address without a token (the public facility finder).</summary>
    [Range(1, 100_000)]
    public int PublicRequestsPerSecond { get; set; } = 10;

    /// <summary>Calls one address without a token may make at once.</summary>
    [Range(1, 100_000)]
    public int PublicBurst { get; set; } = 40;

    /// <summary>Sustained calls per second without a token from all addresses together: the public can never take the hub's capacity from the network.</summary>
    [Range(1, 100_000)]
    public int PublicTotalRequestsPerSecond { get; set; } = 500;
}

/// <summary>
/// A token bucket per caller (the token's subject: a client or a person), in this process: with several
/// hub instances behind a load balancer each instance keeps its own buckets. A caller over budget gets
/// RESOURCE_EXHAUSTED with a RetryInfo delay — not UNAVAILABLE, which clients would retry at once —
/// and other callers are unaffected.
/// </summary>
public sealed class RateLimitInterceptor : Interceptor, IDisposable
{
    private static readonly string NodePrefix = NetworkClaims.Kinds.SpokeNode + "|";
    private const string PublicPrefix = "public|";
    private const string AllOfThePublic = "public|*";
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit(context);
        return continuation(requestStream, responseStream, context);
    }

    private readonly PartitionedRateLimiter<string> _limiter;

    public RateLimitInterceptor(Microsoft.Extensions.Options.IOptions<RateLimitOptions> options)
    {
        var limits = options.Value;
        // The partition key is "kind|subject": a spoke node gets the node budget, everyone else the person/client one; a call without a
        // token is "public|address" (and all of them together "public|*").
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = key == AllOfThePublic ? limits.PublicTotalRequestsPerSecond
                : key.StartsWith(PublicPrefix, StringComparison.Ordinal) ? limits.PublicBurst
                : key.StartsWith(NodePrefix, StringComparison.Ordinal) ? limits.NodeBurst : limits.Burst,
            TokensPerPeriod = key == AllOfThePublic ? limits.PublicTotalRequestsPerSecond
                : key.StartsWith(PublicPrefix, StringComparison.Ordinal) ? limits.PublicRequestsPerSecond
                : key.StartsWith(NodePrefix, StringComparison.Ordinal) ? limits.NodeRequestsPerSecond : limits.RequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Admit(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit(context);
        return continuation(request, responseStream, context);
    }

    private void Admit(ServerCallContext context)
    {
        if (RpcPolicies.IsInfrastructure(context.Method))
        {
            return;
        }
        var http = context.GetHttpContext();
        var user = http.User;
        if (user.FindFirst(NetworkClaims.Subject)?.Value is { } subject)
        {
            using var lease = _limiter.AttemptAcquire($"{user.FindFirst(NetworkClaims.ClientKind)?.Value}|{subject}");
            if (!lease.IsAcquired)
            {
                Refuse(lease, "this caller");
            }
            return;
        }
        using (var address = _limiter.AttemptAcquire(PublicPrefix + http.Connection.RemoteIpAddress))
        {
            if (!address.IsAcquired)
            {
                Refuse(address, "this address");
            }
        }
        using var all = _limiter.AttemptAcquire(AllOfThePublic);
        if (!all.IsAcquired)
        {
            Refuse(all, "the public as a whole");
        }
    }

    private static void Refuse(RateLimitLease lease, string who)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var delay) ? delay : TimeSpan.FromSeconds(1);
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = $"Too many requests from {who}; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.",
            Details = { Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) }) },
        };
        throw status.ToRpcException();
    }

    public void Dispose() => _limiter.Dispose();
}
