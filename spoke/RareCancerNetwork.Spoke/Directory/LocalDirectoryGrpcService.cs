using Grpc.Core;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Registry;

namespace RareCancerNetwork.Spoke.Directory;

/// <summary>The directory and trial matching from the spoke's own copy: answers while the hub is away, and says how current the copy is.</summary>
public sealed class LocalDirectoryGrpcService(LocalDirectoryStore directory, LocalRegistryStore records, TimeProvider clock) : LocalDirectoryService.LocalDirectoryServiceBase
{
    public override async Task<SearchFacilitiesResponse> SearchFacilities(SearchFacilitiesRequest request, ServerCallContext context)
    {
        var filter = request.Filter ?? new FacilityFilter();
        var v = new FieldValidator();
        DirectorySearch.Validate(v, "filter.", filter);
        v.ThrowIfInvalid();
        var response = new SearchFacilitiesResponse { Copy = await directory.CopyAsync(context.CancellationToken) };
        response.Facilities.AddRange((await directory.FacilitiesAsync(context.CancellationToken)).Where(f => DirectorySearch.Matches(f, filter)));
        return response;
    }

    public override async Task<ListDirectoryExpertsResponse> ListDirectoryExperts(ListDirectoryExpertsRequest request, ServerCallContext context)
    {
        var response = new ListDirectoryExpertsResponse { Copy = await directory.CopyAsync(context.CancellationToken) };
        response.Experts.AddRange((await directory.ExpertsAsync(context.CancellationToken)).Where(e => request.IncludeRetired || !e.Retired));
        return response;
    }

    public override async Task<ListLocalTrialsResponse> ListLocalTrials(ListLocalTrialsRequest request, ServerCallContext context)
    {
        var response = new ListLocalTrialsResponse { Copy = await directory.CopyAsync(context.CancellationToken) };
        response.Trials.AddRange((await directory.TrialsAsync(context.CancellationToken)).Where(t => DirectorySearch.Listed(t, request.IncludeClosed, request.IncludeRetired)));
        return response;
    }

    public override async Task<MatchRegistryRecordResponse> MatchRegistryRecord(MatchRegistryRecordRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.ThrowIfInvalid();
        // The latest version made here (held or not yet delivered): what the facility knows of its patient now.
        var record = await records.GetAsync(request.RecordId, context.CancellationToken);
        var copy = await directory.CopyAsync(context.CancellationToken);
        var trials = await directory.TrialsAsync(context.CancellationToken);
        return new MatchRegistryRecordResponse
        {
            Result = TrialMatcher.Match(record.Record, trials, copy.DirectoryVersion, clock),
            Copy = copy,
        };
    }
}
