using Google.Protobuf;
using Grpc.Core;
using RareCancerNetwork.Node.Fhir;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>The national registry for the central institution's administrators: secondary-use exports, each call audited.</summary>
public sealed partial class RegistryAdministrationGrpcService(RegistryStore store, TimeProvider clock, ILogger<RegistryAdministrationGrpcService> logger)
    : RegistryAdministrationService.RegistryAdministrationServiceBase
{
    public override async Task<ExportNationalRegistryResponse> ExportNationalRegistry(ExportNationalRegistryRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        var pageSize = v.PageSize("page_size", request.PageSize, 100, ContractLimits.RegistryPageSize);
        v.Text("page_token", request.PageToken, ContractLimits.PageToken, required: false);
        v.ThrowIfInvalid();
        var (page, next) = await store.SecondaryUsePageAsync(pageSize, request.PageToken, context.CancellationToken);
        var bundle = RegistryFhirExport.ToBundle(page, clock.GetUtcNow());
        LogExported(logger, page.Count);
        return new ExportNationalRegistryResponse
        {
            FhirBundleJson = ByteString.CopyFromUtf8(RegistryFhirExport.ToJson(bundle)),
            RecordCount = page.Count,
            NextPageToken = next,
        };
    }

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "National registry export: {Count} records with secondary-use consent")]
    private static partial void LogExported(ILogger logger, int count);
}
