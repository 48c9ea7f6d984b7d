using Grpc.Core;
using OpenIddict.Abstractions;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>Which hub failures are worth retrying (the hub or network will recover) and which are final answers.</summary>
public static class HubFailures
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted
            or StatusCode.Aborted or StatusCode.Internal or StatusCode.Unknown or StatusCode.Unauthenticated
            or StatusCode.Cancelled or StatusCode.Unimplemented,
        // Token endpoint unreachable or refusing for now (e.g. a node being re-registered).
        OpenIddictExceptions.ProtocolException => true,
        HttpRequestException or IOException or TimeoutException => true,
        InvalidOperationException { InnerException: HttpRequestException } => true,
        _ => false,
    };

    /// <summary>A short description for logs and operators; never request content.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => exception.GetType().Name,
    };
}
