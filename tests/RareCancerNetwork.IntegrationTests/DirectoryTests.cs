using Grpc.Core;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The directory at every spoke: a change at the hub reaches every spoke through its feed, a spoke that was
/// offline catches up when it returns, and a spoke answers from its copy while the hub is away.
/// </summary>
public sealed class DirectoryPropagationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<SearchFacilitiesResponse> SearchAsync(LocalDirectoryService.LocalDirectoryServiceClient client, FacilityFilter? filter = null) =>
        client.SearchFacilitiesAsync(new() { Filter = filter ?? new FacilityFilter { IncludeRetired = true } }, cancellationToken: Ct).ResponseAsync;

    [Fact]
    public async Task AChangeAtTheHub_ReachesEverySpoke_AndASpokeOfflineDuringIt_CatchesUp()
    {
        using var folder = new TempFolder("rcn-directory");
        var hub = await HubNode.StartAsync(folder.Sub("hub"));
        await using var _ = hub;
        var nodeA = await hub.RegisterSpokeAsync("spoke-tokyo", "CORE-004", folder.Sub("spoke-tokyo"));
        var nodeB = await hub.RegisterSpokeAsync("spoke-sapporo", "CORE-001", folder.Sub("spoke-sapporo"));
        var tokenA = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-tokyo", "tester"), NetworkClaims.Scopes.Local);
        var tokenB = await Clients.TokenAsync(hub.Url, hub.CaPath, await hub.RegisterLocalClientAsync("spoke-sapporo", "tester"), NetworkClaims.Scopes.Local);
        var spokeA = await SpokeNode.StartAsync(folder.Sub("spoke-tokyo"), hub.Url, hub.CaPath, "spoke-tokyo", "CORE-004", nodeA);
        await using var __ = spokeA;
        var spokeB = await SpokeNode.StartAsync(folder.Sub("spoke-sapporo"), hub.Url, hub.CaPath, "spoke-sapporo", "CORE-001", nodeB);
        var directoryA = new LocalDirectoryService.LocalDirectoryServiceClient(Clients.Channel(spokeA.Url, spokeA.CaPath, tokenA));

        // The whole directory arrives at a new spoke, each facility with the spoke that serves it.
        var initial = await Eventually.UntilAsync(() => SearchAsync(directoryA), r => r.Facilities.Count == 167, "the directory at the Tokyo spoke");
        var byCode = initial.Facilities.ToDictionary(f => f.FacilityCode);
        Assert.Equal("spoke-tokyo", byCode["CORE-011"].ServingNodeId);
        Assert.Equal(("spoke-sapporo", "CORE-001"), (byCode["HUB-001"].ServingNodeId, byCode["HUB-001"].ServingFacilityCode));
        // No spoke in Tohoku: its hospitals go to the network's first spoke, so that every referral has a destination.
        Assert.Equal("spoke-tokyo", byCode["CORE-002"].ServingNodeId);
        Assert.All(initial.Facilities, f => Assert.NotEqual("", f.ServingNodeId));
        Assert.Contains(FacilityDesignation.RareCancerCoreCenter, byCode["CORE-001"].Designations);
        Assert.Equal("北海道大学病院", byCode["CORE-001"].NameJa);

        // Sapporo's spoke goes offline; the administrator changes the directory.
        await spokeB.DisposeAsync();
        await hub.ChangeDirectoryAsync(a => a.UpdateFacilityAsync(new FacilityChange("CORE-011", OrganSpecialties: [OrganSystem.SoftTissue, OrganSystem.Bone]), Ct));
        await hub.ChangeDirectoryAsync(a => a.AddFacilityAsync(
            new FacilityChange("HOSP-901", "旭川希少がんセンター", FacilityDesignation.GenomicCooperative, "北海道", [OrganSystem.SoftTissue]), Ct));
        await hub.ChangeDirectoryAsync(a => a.RetireFacilityAsync("COOP-011", Ct));
        var version = await hub.LoadExampleTrialsAsync();

        var soft = await Eventually.UntilAsync(() => SearchAsync(directoryA, new FacilityFilter { OrganSpecialty = OrganSystem.SoftTissue }),
            r => r.Facilities.Count == 2 && r.Copy.DirectoryVersion == version, "the changes at the Tokyo spoke");
        Assert.Equal(["CORE-011", "HOSP-901"], soft.Facilities.Select(f => f.FacilityCode));
        Assert.Equal("spoke-sapporo", soft.Facilities[1].ServingNodeId);
        var trialsA = (await directoryA.ListLocalTrialsAsync(new() { IncludeClosed = true }, cancellationToken: Ct)).Trials;
        Assert.Equal(4, trialsA.Count);
        Assert.DoesNotContain((await SearchAsync(directoryA, new FacilityFilter { Region = "Kanto" })).Facilities, f => f.FacilityCode == "COOP-011");

        // Back online, Sapporo's spoke catches up to the same copy.
        spokeB = await SpokeNode.StartAsync(folder.Sub("spoke-sapporo"), hub.Url, hub.CaPath, "spoke-sapporo", "CORE-001", nodeB);
        await using var ___ = spokeB;
        var directoryB = new LocalDirectoryService.LocalDirectoryServiceClient(Clients.Channel(spokeB.Url, spokeB.CaPath, tokenB));
        var atB = await Eventually.UntilAsync(() => SearchAsync(directoryB), r => r.Copy.DirectoryVersion == version, "the changes at the Sapporo spoke");
        Assert.Equal((await SearchAsync(directoryA)).Facilities, atB.Facilities);
        Assert.Equal(trialsA, (await directoryB.ListLocalTrialsAsync(new() { IncludeClosed = true }, cancellationToken: Ct)).Trials);
        Assert.True(atB.Facilities.Single(f => f.FacilityCode == "COOP-011").Retired);

        // With the hub away, the spokes still search from their copies and say how current they are.
        await hub.DisposeAsync();
        var offline = await SearchAsync(directoryA, new FacilityFilter { Prefecture = "北海道", Designation = FacilityDesignation.GenomicCooperative });
        Assert.Contains(offline.Facilities, f => f.FacilityCode == "HOSP-901");
        Assert.Equal(version, offline.Copy.DirectoryVersion);
        Assert.NotNull(offline.Copy.SyncedAt);
    }
}

/// <summary>Matching and the directory's RPCs on the shared network: same results at hub and spoke, and every bad request refused.</summary>
[Collection(NetworkCollection.Name)]
public sealed class DirectoryTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<TrialMatchingService.TrialMatchingServiceClient> DataManagerAsync()
    {
        var token = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), $"dm-{Guid.CreateVersion7():N}"[..20], NetworkClaims.Roles.RegistryDataManager, "CORE-004");
        return new TrialMatchingService.TrialMatchingServiceClient(network.HubChannel(token));
    }

    [Fact]
    public async Task Matching_AtTheHubAndAtTheSpoke_GivesTheSameResult_AndAWithdrawnRecordIsMatchedNoMore()
    {
        var version = await network.Hub.LoadExampleTrialsAsync();
        var matching = await DataManagerAsync();
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = "MATCH-0001", Record = record }, cancellationToken: Ct);
        await Eventually.UntilAsync(async () => (await network.RegistryA().GetRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Record,
            r => r.SyncState == RegistrySyncState.Synchronised, "the record at the hub");

        var atHub = (await matching.MatchNationalRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct)).Result;
        var atSpoke = await Eventually.UntilAsync(
            async () => await network.DirectoryA().MatchRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct),
            r => r.Copy.DirectoryVersion >= version, "the catalogue at the spoke");

        Assert.Equal(atHub.Matches, atSpoke.Result.Matches);
        Assert.Equal(atHub.NearMisses, atSpoke.Result.NearMisses);
        Assert.Equal("jRCT2031990104", Assert.Single(atHub.Matches).TrialId);
        Assert.Contains(atHub.NearMisses, m => m.TrialId == "jRCT2031990101" && m.BiomarkerMatched);

        await network.RegistryA().WithdrawRegistryConsentAsync(new() { RecordId = record.RecordId, WithdrawnOn = "2026-02-01" }, cancellationToken: Ct);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.DirectoryA().MatchRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct).ResponseAsync);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await matching.MatchNationalRegistryRecordAsync(new() { RecordId = record.RecordId }, cancellationToken: Ct);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }, status => status == StatusCode.NotFound, "the withdrawal at the hub");
    }

    [Fact]
    public async Task BadRequests_AreRefusedWithTheField_AndNothingElse()
    {
        var matching = await DataManagerAsync();
        await RpcAssert.InvalidFieldsAsync(() => matching.MatchNationalRegistryRecordAsync(new() { RecordId = "not-a-uuid" }, cancellationToken: Ct).ResponseAsync, "record_id");
        var unknown = await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => matching.MatchNationalRegistryRecordAsync(new() { RecordId = Guid.CreateVersion7().ToString() }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("does not hold it", unknown.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.InvalidFieldsAsync(() => network.DirectoryA().MatchRegistryRecordAsync(new() { RecordId = "" }, cancellationToken: Ct).ResponseAsync, "record_id");

        await RpcAssert.InvalidFieldsAsync(() => network.DirectoryA().SearchFacilitiesAsync(new()
        {
            Filter = new FacilityFilter { Prefecture = "Tokyo", Region = "Kantou", OrganSpecialty = (OrganSystem)99, Designation = (FacilityDesignation)42 },
        }, cancellationToken: Ct).ResponseAsync, "filter.prefecture", "filter.region", "filter.organ_specialty", "filter.designation");
        await RpcAssert.InvalidFieldsAsync(() => network.Directory(network.NodeTokenA).ListFacilitiesAsync(new() { Region = "Kantou", OrganSpecialty = (OrganSystem)99 },
            cancellationToken: Ct).ResponseAsync, "region", "organ_specialty");
        await RpcAssert.InvalidFieldsAsync(() => network.Sync(network.NodeTokenA).PullDirectoryAsync(new() { AfterVersion = -1, PageSize = 5000 },
            cancellationToken: Ct).ResponseAsync, "after_version", "page_size");
        await RpcAssert.InvalidFieldsAsync(() => network.Directory(network.NodeTokenA).GetTrialAsync(new(), cancellationToken: Ct).ResponseAsync, "trial_id");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.Directory(network.NodeTokenA).GetTrialAsync(new() { TrialId = "jRCT-none" }, cancellationToken: Ct).ResponseAsync);

        // The hub keeps serving.
        Assert.Equal(47, (await network.Directory(network.NodeTokenA).ListPrefecturesAsync(new(), cancellationToken: Ct)).Prefectures.Count);
    }

    [Fact]
    public async Task TheHubsDirectory_FiltersAsTheSpokesDo()
    {
        await network.Hub.ChangeDirectoryAsync(a => a.UpdateFacilityAsync(new FacilityChange("CORE-009", OrganSpecialties: [OrganSystem.Eye]), Ct));
        var hub = network.Directory(network.NodeTokenA);
        var filter = new FacilityFilter { OrganSpecialty = OrganSystem.Eye, Region = "Kyushu-Okinawa" };
        var atHub = await hub.ListFacilitiesAsync(new() { OrganSpecialty = filter.OrganSpecialty, Region = filter.Region }, cancellationToken: Ct);
        Assert.Equal(["CORE-009"], atHub.Facilities.Select(f => f.FacilityCode));
        var atSpoke = await Eventually.UntilAsync(async () => await network.DirectoryA().SearchFacilitiesAsync(new() { Filter = filter }, cancellationToken: Ct),
            r => r.Facilities.Count == 1, "the change at the spoke");
        Assert.Equal(atHub.Facilities, atSpoke.Facilities);

        // Paging through the whole directory at the hub gives every facility once.
        var codes = new List<string>();
        var token = "";
        do
        {
            var page = await hub.ListFacilitiesAsync(new() { PageSize = 50, PageToken = token, IncludeRetired = true }, cancellationToken: Ct);
            codes.AddRange(page.Facilities.Select(f => f.FacilityCode));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(codes.Distinct().Count(), codes.Count);
        Assert.True(codes.Count >= 167);
    }
}
