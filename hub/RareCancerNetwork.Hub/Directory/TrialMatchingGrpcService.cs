using Grpc.Core;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>Matches national registry records against the published catalogue, with the matcher every spoke runs.</summary>
public sealed class TrialMatchingGrpcService(HubDatabase database, RegistryStore records, TimeProvider clock) : TrialMatchingService.TrialMatchingServiceBase
{
    public override async Task<MatchNationalRegistryRecordResponse> MatchNationalRegistryRecord(MatchNationalRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.ThrowIfInvalid();
        // Only records the registry holds now: a withdrawn record is gone, and so is every match for it.
        var record = await records.GetAsync(request.RecordId, context.CancellationToken)
            ?? throw new ResourceNotFoundException("Registry record", request.RecordId, "the national registry does not hold it (never delivered, or consent withdrawn)");
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var trials = await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, context.CancellationToken);
        var version = await DirectoryPublisher.VersionAsync(connection, context.CancellationToken);
        return new MatchNationalRegistryRecordResponse { Result = TrialMatcher.Match(record, trials.Select(e => e.Trial), version, clock) };
    }
}
