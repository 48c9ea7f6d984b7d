using Google.Rpc;
using Grpc.Core;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>What a failed call to the hub says about what to do next.</summary>
public enum HubFailureKind
{
    /// <summary>The hub or the network is down, busy or refusing our token for now: wait and call again.</summary>
    HubUnavailable,

    /// <summary>The hub failed on this entry (INTERNAL, UNKNOWN, ...): retry it a few times, then park it for an operator.</summary>
    EntryFailed,

    /// <summary>The hub gave a final answer about this entry (invalid, forbidden, conflicting, too large).</summary>
    Refused,
}

/// <summary>Classifies hub failures, and reads the delay the hub asked for.</summary>
public static class HubFailures
{
    public static HubFailureKind Classify(Exception exception) => exception switch
    {
        RpcException { StatusCode: StatusCode.ResourceExhausted } rpc => RetryAfter(rpc) is null ? HubFailureKind.Refused : HubFailureKind.HubUnavailable,
        // The hub does not serve this node's contract version: nothing is wrong with the entry; wait for the upgrade.
        RpcException { StatusCode: StatusCode.FailedPrecondition } rpc when IsVersionRefusal(rpc) => HubFailureKind.HubUnavailable,
        RpcException rpc => rpc.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unauthenticated or StatusCode.Cancelled => HubFailureKind.HubUnavailable,
            // Another upload of the same file still holds it (a broken connection the hub has not noticed yet): wait, as for a busy hub.
            StatusCode.Aborted => HubFailureKind.HubUnavailable,
            StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.AlreadyExists or StatusCode.FailedPrecondition
                or StatusCode.NotFound or StatusCode.OutOfRange => HubFailureKind.Refused,
            _ => HubFailureKind.EntryFailed,
        },
        // The entry itself cannot be sent (unreadable payload): only an operator can help.
        InvalidDataException or Google.Protobuf.InvalidProtocolBufferException => HubFailureKind.EntryFailed,
        // Anything else (token endpoint unreachable, sockets, TLS, timeouts) is about reaching the hub:
        // wait, never park an entry for it.
        _ => HubFailureKind.HubUnavailable,
    };

    /// <summary>Whether the hub refused the node's contract version (the message says which side to upgrade).</summary>
    public static bool IsVersionRefusal(Exception exception) =>
        exception is RpcException { StatusCode: StatusCode.FailedPrecondition } rpc
        && rpc.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason is Protos.Contract.ContractVersion.UpgradeHub or Protos.Contract.ContractVersion.UpgradeSpoke;

    /// <summary>Whether waiting for the hub or network to recover is the cure.</summary>
    public static bool IsHubUnavailable(Exception exception) => Classify(exception) == HubFailureKind.HubUnavailable;

    /// <summary>Whether a long-lived call (the feed) should be tried again: anything but a final refusal.</summary>
    public static bool IsWorthRetrying(Exception exception) => Classify(exception) != HubFailureKind.Refused;

    /// <summary>The delay the hub asked for in a google.rpc.RetryInfo detail (rate limits), if any.</summary>
    public static TimeSpan? RetryAfter(Exception exception)
    {
        if (exception is not RpcException rpc)
        {
            return null;
        }
        var retryInfo = rpc.GetRpcStatus()?.GetDetail<RetryInfo>();
        return retryInfo?.RetryDelay?.ToTimeSpan();
    }

    /// <summary>A short description for logs and operators; never request content.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => exception.GetType().Name,
    };
}
