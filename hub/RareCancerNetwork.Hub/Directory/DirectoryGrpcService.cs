using Grpc.Core;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>Read-only national directory. Holds no patient data.</summary>
public sealed class DirectoryGrpcService(HubDatabase database) : DirectoryService.DirectoryServiceBase
{
    public override async Task<ListFacilitiesResponse> ListFacilities(ListFacilitiesRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 100, ContractLimits.DirectoryPageSize);
        v.Text("prefecture", request.Prefecture, 10, required: false);
        v.Text("region", request.Region, 32, required: false);
        v.Text("page_token", request.PageToken, 32, required: false);
        v.ThrowIfInvalid();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        await using var command = connection.Command(
            """
            SELECT facility_code, name_ja, designation, prefecture, region FROM facilities
            WHERE (@prefecture = '' OR prefecture = @prefecture) AND (@region = '' OR region = @region) AND facility_code > @after
            ORDER BY facility_code LIMIT @limit
            """)
            .With("@prefecture", request.Prefecture).With("@region", request.Region).With("@after", request.PageToken).With("@limit", pageSize + 1);
        var response = new ListFacilitiesResponse();
        await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
        while (await reader.ReadAsync(context.CancellationToken))
        {
            response.Facilities.Add(ReadFacility(reader));
        }
        if (response.Facilities.Count > pageSize)
        {
            response.Facilities.RemoveAt(pageSize);
            response.NextPageToken = response.Facilities[^1].FacilityCode;
        }
        return response;
    }

    public override async Task<GetFacilityResponse> GetFacility(GetFacilityRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Text("facility_code", request.FacilityCode, 32);
        v.ThrowIfInvalid();
        await using var connection = await database.OpenAsync(context.CancellationToken);
        await using var command = connection.Command(
            "SELECT facility_code, name_ja, designation, prefecture, region FROM facilities WHERE facility_code = @code").With("@code", request.FacilityCode);
        await using var reader = await command.ExecuteReaderAsync(context.CancellationToken);
        return await reader.ReadAsync(context.CancellationToken)
            ? new GetFacilityResponse { Facility = ReadFacility(reader) }
            : throw new ResourceNotFoundException("Facility", request.FacilityCode);
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

    private static Facility ReadFacility(System.Data.Common.DbDataReader reader) => new()
    {
        FacilityCode = reader.GetString(0),
        NameJa = reader.GetString(1),
        Designation = (FacilityDesignation)reader.GetInt32(2),
        Prefecture = reader.GetString(3),
        Region = reader.GetString(4),
    };
}
