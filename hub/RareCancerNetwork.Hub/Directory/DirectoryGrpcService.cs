using Grpc.Core;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Matching;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>Read-only national directory, served from the published entries every spoke copies. Holds no patient data.</summary>
public sealed class DirectoryGrpcService(HubDatabase database) : DirectoryService.DirectoryServiceBase
{
    public override async Task<ListFacilitiesResponse> ListFacilities(ListFacilitiesRequest request, ServerCallContext context)
    {
        var filter = new FacilityFilter
        {
            Prefecture = request.Prefecture,
            Region = request.Region,
            OrganSpecialty = request.OrganSpecialty,
            Designation = request.Designation,
            IncludeRetired = request.IncludeRetired,
        };
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 100, ContractLimits.DirectoryPageSize);
        v.Text("prefecture", request.Prefecture, 10, required: false);
        v.Text("region", request.Region, 32, required: false);
        v.Text("page_token", request.PageToken, 32, required: false);
        DirectorySearch.Validate(v, "", filter);
        v.ThrowIfInvalid();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var matching = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, context.CancellationToken))
            .Select(e => e.Facility)
            .Where(f => string.CompareOrdinal(f.FacilityCode, request.PageToken) > 0 && DirectorySearch.Matches(f, filter))
            .Take(pageSize + 1)
            .ToList();
        var response = new ListFacilitiesResponse();
        response.Facilities.AddRange(matching.Take(pageSize));
        if (matching.Count > pageSize)
        {
            response.NextPageToken = response.Facilities[^1].FacilityCode;
        }
        return response;
    }

    public override async Task<GetFacilityResponse> GetFacility(GetFacilityRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Text("facility_code", request.FacilityCode, 32);
        v.ThrowIfInvalid();
        return new GetFacilityResponse { Facility = (await EntryAsync(DirectoryPublisher.FacilityKind, "Facility", request.FacilityCode, context.CancellationToken)).Facility };
    }

    private async Task<DirectoryEntry> EntryAsync(string kind, string resourceType, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await DirectoryPublisher.ReadOneAsync(connection, kind, key, cancellationToken) ?? throw new ResourceNotFoundException(resourceType, key);
    }

    public override async Task<ListPrefecturesResponse> ListPrefectures(ListPrefecturesRequest request, ServerCallContext context)
    {
        await using var connection = await database.OpenAsync(context.CancellationToken);
        await using var command = connection.Command("SELECT name_ja, region, jis_code FROM prefectures ORDER BY jis_code");
        await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
        var response = new ListPrefecturesResponse();
        while (await reader.ReadAsync(context.CancellationToken))
        {
            response.Prefectures.Add(new Prefecture { NameJa = reader.GetString(0), Region = reader.GetString(1), JisCode = reader.GetString(2) });
        }
        return response;
    }

    public override async Task<ListTrialsResponse> ListTrials(ListTrialsRequest request, ServerCallContext context)
    {
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var response = new ListTrialsResponse();
        response.Trials.AddRange((await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, context.CancellationToken))
            .Select(e => e.Trial)
            .Where(t => DirectorySearch.Listed(t, request.IncludeClosed, request.IncludeRetired)));
        return response;
    }

    public override async Task<GetTrialResponse> GetTrial(GetTrialRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Text("trial_id", request.TrialId, 40);
        v.ThrowIfInvalid();
        return new GetTrialResponse { Trial = (await EntryAsync(DirectoryPublisher.TrialKind, "Trial", request.TrialId, context.CancellationToken)).Trial };
    }
}
