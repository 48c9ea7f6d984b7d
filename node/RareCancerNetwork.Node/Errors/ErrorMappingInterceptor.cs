using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace RareCancerNetwork.Node.Errors;

/// <summary>
/// The one place where domain exceptions become gRPC statuses with rich details
/// (google.rpc.BadRequest / ErrorInfo). Unexpected exceptions become INTERNAL without
/// their text, so no stack trace or patient data reaches a client.
/// </summary>
public sealed class ErrorMappingInterceptor : Interceptor
{
    public const string ErrorDomain = "rarecancer.network";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (NetworkException exception)
        {
            throw ToRpcException(exception);
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
        catch (NetworkException exception)
        {
            throw ToRpcException(exception);
        }
    }

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
            case LimitExceededException:
                status.Code = (int)Code.ResourceExhausted;
                break;
            default:
                status.Code = (int)Code.Internal;
                break;
        }
        return status.ToRpcException();
    }
}
