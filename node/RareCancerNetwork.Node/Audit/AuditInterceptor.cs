using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Node.Audit;

/// <summary>
/// Appends exactly one audit entry for every call of a patient-level RPC (success or failure) and
/// for every refused call of any RPC (a batched delivery of consultations: one per consultation it carried).
/// The entry names the object by type and id, never its content.
/// A read is audited before its data leaves the node: if the entry cannot be written, the call fails. A unary call's
/// service may commit the success entry with its own write (<see cref="CallAudit"/>).
/// </summary>
public sealed class AuditInterceptor(AuditLog log, NodeDescription node) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // The success entry is ready before the call: a service may commit it with the call's own write.
        CallAudit? audit = null;
        if (IsPatientLevel(context.Method))
        {
            audit = new CallAudit(log, Records(context, request, AuditVocabulary.Success, "OK"));
            audit.AttachTo(context);
        }
        TResponse response;
        try
        {
            response = await continuation(request, context);
        }
        catch (Exception exception) when (audit is not { Committed: true })
        {
            // (A call whose change committed with its entry and failed afterwards has its one entry: the change happened.)
            await RecordFailureAsync(request, context, exception);
            throw;
        }
        if (audit is { Committed: false })
        {
            await audit.AppendAsync(context.CancellationToken);
        }
        return response;
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        // The object is named by the first message, which the service has read by the time it answers.
        var reader = new FirstMessageReader<TRequest>(requestStream);
        TResponse response;
        try
        {
            response = await continuation(reader, context);
        }
        catch (Exception exception)
        {
            await RecordFailureAsync(reader.First ?? new object(), context, exception);
            throw;
        }
        if (IsPatientLevel(context.Method))
        {
            await log.AppendAsync(Record(context, reader.First ?? new object(), AuditVocabulary.Success, "OK"), context.CancellationToken);
        }
        return response;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        // A stream is long-lived: one entry for it, written before its first message leaves the node
        // (or when it ends without any).
        var stream = new AuditedStream<TResponse>(responseStream, () => IsPatientLevel(context.Method)
            ? log.AppendAsync(Record(context, request, AuditVocabulary.Success, "OK"), CancellationToken.None)
            : Task.CompletedTask);
        try
        {
            await continuation(request, stream, context);
        }
        catch (Exception exception) when (!stream.Audited)
        {
            await RecordFailureAsync(request, context, exception);
            throw;
        }
        await stream.EnsureAuditedAsync();
    }

    private async Task RecordFailureAsync(object request, ServerCallContext context, Exception exception)
    {
        var denied = exception is AccessDeniedException || exception is RpcException { StatusCode: StatusCode.PermissionDenied };
        if (!denied && !IsPatientLevel(context.Method))
        {
            return;
        }
        var detail = exception switch
        {
            RpcException rpc => rpc.StatusCode.ToString(),
            NetworkException network => ErrorMappingInterceptor.ToRpcException(network).StatusCode.ToString(),
            OperationCanceledException => nameof(StatusCode.Cancelled),
            _ => nameof(StatusCode.Internal),
        };
        var records = Records(context, request, AuditVocabulary.Failure, detail)
            .Select(record => denied ? record with { EventType = AuditVocabulary.EventTypeAuthorization } : record).ToList();
        // Note: the audit write must not be cancelled by the caller going away.
        await log.AppendAllAsync(records, CancellationToken.None);
    }

    private bool IsPatientLevel(string method) => node.Policies.TryGetValue(method, out var policy) && policy.PatientLevel;

    /// <summary>
    /// A batched delivery of consultations is one entry per consultation it carries (each is a patient's object, as
    /// in a delivery of one), written together; every other call is one entry.
    /// </summary>
    private static List<AuditRecord> Records(ServerCallContext context, object request, string outcome, string detail)
    {
        var record = Record(context, request, outcome, detail);
        if (request is IMessage message && message.Descriptor.FindFieldByName(BatchedConsultations) is { IsRepeated: true } batch
            && batch.Accessor.GetValue(message) is System.Collections.IList { Count: > 0 } consultations)
        {
            return consultations.Cast<IMessage>().Select(consultation => record with { ObjectId = AuditedObject(context.Method, consultation).Id }).ToList();
        }
        return [record];
    }

    private const string BatchedConsultations = "consultations";

    private static AuditRecord Record(ServerCallContext context, object request, string outcome, string detail)
    {
        var http = context.GetHttpContext();
        var rpcName = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        var (objectType, objectId) = AuditedObject(context.Method, request as IMessage);
        return new AuditRecord(AuditVocabulary.EventTypePatientDataAccess, ActionOf(rpcName), outcome, context.Method,
            http.User.FindFirst(NetworkClaims.Subject)?.Value ?? "anonymous", CallerRoles.Of(http.User),
            http.Connection.RemoteIpAddress?.ToString() ?? "", objectType, objectId, detail);
    }

    /// <summary>
    /// What a patient-level call touched: a consultation, a registry record, a data query or a referral, and its id
    /// when the request names one (<c>consultation_id</c>, <c>record_id</c>, <c>referral_id</c>, or the <c>record</c> or
    /// <c>referral</c> it carries). Never content.
    /// </summary>
    public static (string Type, string Id) AuditedObject(string method, IMessage? request)
    {
        var rpcName = method[(method.LastIndexOf('/') + 1)..];
        var dataQuery = rpcName.Contains("DataQuer", StringComparison.Ordinal);
        var hotline = method.Contains("Hotline", StringComparison.Ordinal);
        var referral = !dataQuery && !hotline && method.Contains("Referral", StringComparison.Ordinal);
        var registry = !dataQuery && !referral && method.Contains("Registry", StringComparison.Ordinal);
        var (type, idName, nestedName) = dataQuery ? ("registry_data_query", "query_id", "")
            : hotline ? ("hotline_call", "call_id", "call")
            : referral ? ("referral", "referral_id", "referral")
            : registry ? ("registry_record", "record_id", "record")
            : ("consultation", "consultation_id", "");
        if (request is null)
        {
            return (type, "");
        }
        var idField = request.Descriptor.FindFieldByName(idName);
        if (idField is not null && idField.FieldType == Google.Protobuf.Reflection.FieldType.String)
        {
            return (type, idField.Accessor.GetValue(request) as string ?? "");
        }
        if (nestedName.Length > 0 && request.Descriptor.FindFieldByName(nestedName) is { FieldType: Google.Protobuf.Reflection.FieldType.Message } nestedField
            && nestedField.Accessor.GetValue(request) is IMessage nested)
        {
            return AuditedObject(method, nested);
        }
        // An upload names its consultation in its first message's start.
        if (request.Descriptor.FindFieldByName("start") is { FieldType: Google.Protobuf.Reflection.FieldType.Message } startField
            && startField.Accessor.GetValue(request) is IMessage start)
        {
            return AuditedObject(method, start);
        }
        return (type, "");
    }

    /// <summary>ATNA action codes from the RPC's verb.</summary>
    public static string ActionOf(string rpcName) => rpcName switch
    {
        _ when rpcName.Contains("Withdraw", StringComparison.Ordinal) => "D",
        _ when rpcName.Contains("Transition", StringComparison.Ordinal) || rpcName.StartsWith("ActOn", StringComparison.Ordinal)
            || rpcName.Contains("Acknowledg", StringComparison.Ordinal) || rpcName.Contains("InformationAnswer", StringComparison.Ordinal)
            || rpcName.StartsWith("Decline", StringComparison.Ordinal) || rpcName.StartsWith("Review", StringComparison.Ordinal) => "U",
        _ when rpcName.StartsWith("Submit", StringComparison.Ordinal) || rpcName.StartsWith("Deliver", StringComparison.Ordinal)
            || rpcName.StartsWith("Forward", StringComparison.Ordinal) || rpcName.StartsWith("Create", StringComparison.Ordinal)
            || rpcName.StartsWith("Import", StringComparison.Ordinal) || rpcName.StartsWith("Raise", StringComparison.Ordinal)
            || rpcName.StartsWith("Refer", StringComparison.Ordinal) || rpcName.StartsWith("Request", StringComparison.Ordinal)
            || rpcName.StartsWith("Upload", StringComparison.Ordinal) || rpcName.StartsWith("Record", StringComparison.Ordinal) => "C",
        _ when rpcName.StartsWith("Update", StringComparison.Ordinal) || rpcName.StartsWith("Resolve", StringComparison.Ordinal)
            || rpcName.StartsWith("Cancel", StringComparison.Ordinal) || rpcName.StartsWith("Answer", StringComparison.Ordinal)
            || rpcName.StartsWith("Confirm", StringComparison.Ordinal) || rpcName.StartsWith("Amend", StringComparison.Ordinal) => "U",
        _ when rpcName.StartsWith("Get", StringComparison.Ordinal) || rpcName.StartsWith("List", StringComparison.Ordinal)
            || rpcName.StartsWith("Count", StringComparison.Ordinal) || rpcName.StartsWith("Match", StringComparison.Ordinal)
            || rpcName.StartsWith("Fetch", StringComparison.Ordinal) || rpcName.StartsWith("Subscribe", StringComparison.Ordinal)
            || rpcName.StartsWith("Export", StringComparison.Ordinal) || rpcName.StartsWith("Download", StringComparison.Ordinal)
            || rpcName.StartsWith("Search", StringComparison.Ordinal) => "R",
        _ => "E",
    };

    /// <summary>Remembers the first message of a client stream, which names the object.</summary>
    private sealed class FirstMessageReader<T>(IAsyncStreamReader<T> inner) : IAsyncStreamReader<T>
    {
        public object? First { get; private set; }

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var moved = await inner.MoveNext(cancellationToken);
            if (moved && First is null)
            {
                First = inner.Current;
            }
            return moved;
        }
    }

    /// <summary>Writes the audit entry before the first message of a stream leaves the node.</summary>
    private sealed class AuditedStream<T>(IServerStreamWriter<T> inner, Func<Task> audit) : IServerStreamWriter<T>
    {
        public bool Audited { get; private set; }

        public WriteOptions? WriteOptions { get => inner.WriteOptions; set => inner.WriteOptions = value; }

        public async Task WriteAsync(T message)
        {
            await EnsureAuditedAsync();
            await inner.WriteAsync(message);
        }

        public async Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            await EnsureAuditedAsync();
            await inner.WriteAsync(message, cancellationToken);
        }

        public async Task EnsureAuditedAsync()
        {
            if (!Audited)
            {
                await audit();
                Audited = true;
            }
        }
    }
}
