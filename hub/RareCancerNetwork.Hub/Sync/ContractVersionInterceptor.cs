using Grpc.Core;
using Grpc.Core.Interceptors;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.Contract;

namespace RareCancerNetwork.Hub.Sync;

/// <summary>
/// Refuses a spoke node whose contract version this hub does not serve (newer than the hub, or more than one behind),
/// before the call does anything, with the side to upgrade in the message and the reason (FAILED_PRECONDITION,
/// UPGRADE_HUB or UPGRADE_SPOKE). The spoke treats it as "wait": nothing it queued is refused or lost.
/// </summary>
public sealed class ContractVersionInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    /// <summary>The spoke's contract version from its request (0: a spoke from before versions were exchanged).</summary>
    public static int SpokeVersion(ServerCallContext context) => HeaderNumber(context, ContractVersion.Header);

    /// <summary>The spoke's store schema version from its request, or 0 when it does not say.</summary>
    public static int SpokeSchema(ServerCallContext context) => HeaderNumber(context, ContractVersion.SchemaHeader);

    private static int HeaderNumber(ServerCallContext context, string header) =>
        int.TryParse(context.RequestHeaders.GetValue(header), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value : 0;

    private static void Check(ServerCallContext context)
    {
        if (context.GetHttpContext().User.FindFirst(NetworkClaims.ClientKind)?.Value != NetworkClaims.Kinds.SpokeNode)
        {
            return;
        }
        if (ContractVersion.Incompatibility(SpokeVersion(context), ContractVersion.Current) is { } refusal)
        {
            throw new PreconditionFailedException(refusal.Reason, refusal.Message);
        }
    }
}
