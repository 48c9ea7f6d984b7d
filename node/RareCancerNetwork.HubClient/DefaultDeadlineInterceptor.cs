using Grpc.Core;
using Grpc.Core.Interceptors;

namespace RareCancerNetwork.HubClient;

/// <summary>
/// Gives every unary call to the hub a deadline when its caller set none, so that no call waits for ever on a hub that
/// accepted the connection and then went silent. Streams keep their own rules (the feed lives for hours, an upload as
/// long as its file takes; keepalive notices a dead connection under both).
/// </summary>
public sealed class DefaultDeadlineInterceptor(TimeSpan deadline) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (context.Options.Deadline is null)
        {
            context = new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(DateTime.UtcNow.Add(deadline)));
        }
        return continuation(request, context);
    }
}
