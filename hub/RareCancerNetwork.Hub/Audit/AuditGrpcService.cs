using Grpc.Core;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Audit;

/// <summary>Administrators' access review.</summary>
public sealed class AuditGrpcService(ForwardedAuditStore store) : AuditService.AuditServiceBase
{
    public override async Task<GetAccessStatisticsResponse> GetAccessStatistics(GetAccessStatisticsRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        if (request.FromTime is null)
        {
            v.Add("from_time", "is required");
        }
        if (request.ToTime is null)
        {
            v.Add("to_time", "is required");
        }
        else if (request.FromTime is not null && request.ToTime.ToDateTimeOffset() <= request.FromTime.ToDateTimeOffset())
        {
            v.Add("to_time", "must be after from_time");
        }
        v.ThrowIfInvalid();
        var response = new GetAccessStatisticsResponse();
        response.Rows.AddRange(await store.StatisticsAsync(request.FromTime!.ToDateTimeOffset(), request.ToTime!.ToDateTimeOffset(), context.CancellationToken));
        return response;
    }
}
