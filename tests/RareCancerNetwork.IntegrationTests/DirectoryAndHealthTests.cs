using Grpc.Core;
using Grpc.Health.V1;
using RareCancerNetwork.IntegrationTests.Infrastructure;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The seeded national directory, and the health service of both nodes.</summary>
[Collection(NetworkCollection.Name)]
public sealed class DirectoryAndHealthTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ListFacilities_PagesThroughAll167_InCodeOrder()
    {
        var directory = network.Directory(network.NodeTokenA);
        var codes = new List<string>();
        var request = new Protos.V1.ListFacilitiesRequest { PageSize = 50 };
        do
        {
            var page = await directory.ListFacilitiesAsync(request, cancellationToken: Ct);
            codes.AddRange(page.Facilities.Select(f => f.FacilityCode));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        Assert.Equal(167, codes.Count);
        Assert.Equal(codes.Order(StringComparer.Ordinal), codes);

        var tokyo = await directory.ListFacilitiesAsync(new() { Prefecture = "東京都", PageSize = 500 }, cancellationToken: Ct);
        Assert.NotEmpty(tokyo.Facilities);
        Assert.All(tokyo.Facilities, f => Assert.Equal("Kanto", f.Region));
    }

    [Fact]
    public async Task GetFacility_ReturnsJapaneseName_UnknownIsNotFound()
    {
        var directory = network.Directory(network.ExpertToken1);
        var facility = (await directory.GetFacilityAsync(new() { FacilityCode = "CORE-001" }, cancellationToken: Ct)).Facility;
        Assert.Equal("北海道大学病院", facility.NameJa);
        Assert.Equal(Protos.V1.FacilityDesignation.GenomicCore, facility.Designation);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => directory.GetFacilityAsync(new() { FacilityCode = "NOPE-999" }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.InvalidFieldsAsync(() => directory.GetFacilityAsync(new() { FacilityCode = "" }, cancellationToken: Ct).ResponseAsync, "facility_code");
        await RpcAssert.InvalidFieldsAsync(() => directory.ListFacilitiesAsync(new() { PageSize = 501 }, cancellationToken: Ct).ResponseAsync, "page_size");
    }

    [Fact]
    public async Task ListPrefectures_Returns47InJisOrder()
    {
        var prefectures = (await network.Directory(network.NodeTokenB).ListPrefecturesAsync(new(), cancellationToken: Ct)).Prefectures;
        Assert.Equal(47, prefectures.Count);
        Assert.Equal("北海道", prefectures[0].NameJa);
        Assert.Equal("沖縄県", prefectures[^1].NameJa);
    }

    [Fact]
    public async Task Health_IsServing_OnHubAndSpoke_WithoutToken()
    {
        var hub = new Health.HealthClient(Clients.Channel(network.Hub.Url, network.Hub.CaPath, null));
        var spoke = new Health.HealthClient(Clients.Channel(network.SpokeA.Url, network.SpokeA.CaPath, null));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await hub.CheckAsync(new(), cancellationToken: Ct)).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await spoke.CheckAsync(new(), cancellationToken: Ct)).Status);
    }
}
