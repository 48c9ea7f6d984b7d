using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace RareCancerNetwork.Node.Errors;

/// <summary>
/// The one place where exceptions become gRPC statuses. Domain exceptions carry rich details
/// (google.rpc.BadRequest / ErrorInfo); anything unexpected becomes INTERNAL with a correlation id
/// that is also logged, so an operator can find the failure while the client learns nothing of its
/// text (no stack trace, no patient data). A caller that went away is not an error.
/// </summary>
public sealed partial class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public const string ErrorDomain = "rarecancer.network";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    private RpcException Map(Exception exception, ServerCallContext context)
    {
        if (exception is NetworkException known)
        {
            return ToRpcException(known);
        }
        if (exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
        {
            return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled."));
        }
        var correlationId = Guid.CreateVersion7().ToString("N");
        // Note: the exception's type and stack name code, never data; its message may quote a value, so it is not logged.
        LogUnexpected(logger, context.Method, correlationId, exception.GetType().FullName ?? "", exception.StackTrace ?? "");
        return new Google.Rpc.Status
        {
            Code = (int)Code.Internal,
            Message = $"The node failed to process the request. Report correlation id {correlationId} to the node's operator.",
            Details = { Any.Pack(new ErrorInfo { Reason = "INTERNAL", Domain = ErrorDomain, Metadata = { ["correlation_id"] = correlationId } }) },
        }.ToRpcException();
    }

    /// <summary>The status a domain exception stands for, with its machine-readable details.</summary>
    public static RpcException ToRpcException(NetworkException exception)
    {
        var status = new Google.Rpc.Status { Message = exception.Message };
        switch (exception)
        {
            case InvalidFieldsException invalid:
                status.Code = (int)Code.InvalidArgument;
                var badRequest = new BadRequest();
                badRequest.FieldViolations.AddRange(invalid.Violations.Select(v =>
                    new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description }));
                status.Details.Add(Any.Pack(badRequest));
                break;
            case ResourceNotFoundException notFound:
                status.Code = (int)Code.NotFound;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = "NOT_FOUND", Domain = ErrorDomain, Metadata = { ["resource_type"] = notFound.ResourceType } }));
                break;
            case AccessDeniedException:
                status.Code = (int)Code.PermissionDenied;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = "PERMISSION_DENIED", Domain = ErrorDomain }));
                break;
            case ConflictException:
                status.Code = (int)Code.AlreadyExists;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = "ID_REUSED", Domain = ErrorDomain }));
                break;
            case PreconditionFailedException precondition:
                status.Code = (int)Code.FailedPrecondition;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = precondition.Reason, Domain = ErrorDomain }));
                break;
            case LimitExceededException limit:
                status.Code = (int)Code.ResourceExhausted;
                if (limit.RetryAfter is { } retryAfter)
                {
                    status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) }));
                }
                break;
            case TransferCorruptedException:
                status.Code = (int)Code.DataLoss;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = "CHECKSUM_MISMATCH", Domain = ErrorDomain }));
                break;
            case TransferBusyException:
                status.Code = (int)Code.Aborted;
                status.Details.Add(Any.Pack(new ErrorInfo { Reason = "UPLOAD_IN_PROGRESS", Domain = ErrorDomain }));
                break;
            default:
                status.Code = (int)Code.Internal;
                break;
        }
        return status.ToRpcException();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Unexpected failure in {Method} (correlation id {CorrelationId}): {ExceptionType}\n{StackTrace}")]
    private static partial void LogUnexpected(ILogger logger, string method, string correlationId, string exceptionType, string stackTrace);
}
